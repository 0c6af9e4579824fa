// The data directory: its layout (every path inside it) and the lock that keeps one process on it.
export { dataDirLayout, ensureDataDir, hasDatabase, OFFLINE_STAGING_DIR, STORE_TEMP_DIR, UPLOADS_DONE_DIR, type DataDirLayout } from './layout.js';
export { acquireDataDirLock, DataDirBusyError, lockHolder, type DataDirLock, type LockHolder } from './lock.js';
