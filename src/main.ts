import 'reflect-metadata';
import { NestFactory } from '@nestjs/core';
import { AppModule } from './app.module.js';
import { configureApp } from './configure-app.js';
import { loadConfigOrExit } from './config/ledger-config.js';
import { lockConfiguredDataFolderOrExit } from './data-folder/data-folder.module.js';

async function bootstrap(): Promise<void> {
  const config = loadConfigOrExit(process.env);
  // Held until the process ends: a second process on the folder is refused.
  const dataFolderLock = lockConfiguredDataFolderOrExit(config);
  const app = configureApp(await NestFactory.create(AppModule.forRoot(config, { dataFolderLock })));
  await app.listen(config.port, config.host);
  console.log(
    `tenant-ledger listening on http://${config.host}:${config.port} (store: ${config.store}, data: ${config.dataDir}); docs at /docs`,
  );
}

await bootstrap();
