import { WebhookError } from './base.js';
/** The database's hookline schema is newer than this version of the library understands. */
export class SchemaVersionError extends WebhookError {
  override name = 'SchemaVersionError';
  readonly databaseVersion: number;
  readonly libraryVersion: number;
  constructor(databaseVersion: number, libraryVersion: number) {
    super(
      'ERR_SCHEMA_TOO_NEW',
      `The database holds hookline schema version ${databaseVersion}, but this version of hookline only knows up to ${libraryVersion}: upgrade hookline`,
    );
    this.databaseVersion = databaseVersion;
    this.libraryVersion = libraryVersion;
  }
}

/** The database could not be opened or written. `cause` holds the driver's error. */
export class StoreError extends WebhookError {
  override name = 'StoreError';
  constructor(message: string, cause?: unknown) {
    super('ERR_STORE', message, { cause });
  }
}
