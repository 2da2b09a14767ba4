// Entry point for TypeORM's own CLI (`npx typeorm -d dist/libs/persistence/src/typeorm-cli.data-source.js
// migration:show`). The app itself migrates with `npm run migrate`.
import { createDataSource } from './data-source';

export default createDataSource({ url: process.env.DATABASE_URL ?? '' });
