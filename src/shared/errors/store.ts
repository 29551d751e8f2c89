import { WebhookError } from './base.js';
/**
 * The database's hookline schema is newer than this version of the library understands
 * (`ERR_SCHEMA_TOO_NEW`); with `migrate: false`, also missing (`ERR_SCHEMA_MISSING`) or older
 * (`ERR_SCHEMA_TOO_OLD`), since it may not be created or changed.
 */
export class SchemaVersionError extends WebhookError {
  override name = 'SchemaVersionError';
  readonly databaseVersion: number;
  readonly libraryVersion: number;
  constructor(databaseVersion: number, libraryVersion: number, where = 'The database') {
    const [code, message] =
      databaseVersion > libraryVersion
        ? ([
            'ERR_SCHEMA_TOO_NEW',
            `${where} holds hookline schema version ${databaseVersion}, but this version of hookline only knows up to ${libraryVersion}: upgrade hookline`,
          ] as const)
        : databaseVersion === 0
          ? ([
              'ERR_SCHEMA_MISSING',
              `${where} holds no hookline schema (and \`migrate: false\` creates none)`,
            ] as const)
          : ([
              'ERR_SCHEMA_TOO_OLD',
              `${where} holds hookline schema version ${databaseVersion}, older than this version's ${libraryVersion} (and \`migrate: false\` changes nothing): use the hookline version the application runs, or start the application once`,
            ] as const);
    super(code, message);
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
