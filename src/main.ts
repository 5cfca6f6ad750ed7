import 'reflect-metadata';
import { NestFactory } from '@nestjs/core';
import { AppModule } from './app.module.js';
import { configureApp } from './configure-app.js';
import { loadConfigOrExit } from './config/ledger-config.js';

async function bootstrap(): Promise<void> {
  const config = loadConfigOrExit(process.env);
  const app = configureApp(await NestFactory.create(AppModule.forRoot(config)));
  await app.listen(config.port, config.host);
  console.log(
    `tenant-ledger listening on http://${config.host}:${config.port} (store: ${config.store}, data: ${config.dataDir}); docs at /docs`,
  );
}

await bootstrap();
