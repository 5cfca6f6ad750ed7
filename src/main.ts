import 'reflect-metadata';
import { NestFactory } from '@nestjs/core';
import { AppModule } from './app.module.js';
import { configureApp } from './configure-app.js';
import { ConfigError, loadConfig } from './config/ledger-config.js';

async function bootstrap(): Promise<void> {
  let config;
  try {
    config = loadConfig(process.env);
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    // A bad setting stops the start, naming the variable (SPEC §8).
    console.error(error.message);
    process.exit(1);
  }
  const app = configureApp(await NestFactory.create(AppModule.forRoot(config)));
  await app.listen(config.port, config.host);
  console.log(`tenant-ledger listening on http://${config.host}:${config.port} (store: ${config.store}, data: ${config.dataDir}); docs at /docs`);
}

await bootstrap();
