// The engines' public surface: the interface `offline/` programs against, and the engines.
export * from './engine.js';
export { engineFailure, retriesAtOnce, retryKindOf, type RetryKind } from './failures.js';
export { failureFromError } from './bittorrent/failures.js';
export { WebTorrentEngine, type WebTorrentEngineOptions } from './bittorrent/webtorrent-engine.js';
export { HTTP_PIECE_LENGTH, HttpEngine } from './http/http-engine.js';
export { HTTP_DEFAULTS, type HttpEngineOptions } from './http/options.js';
export { guardTorrentHints } from './bittorrent/tracker-guard.js';
export { EngineRouter } from './router.js';
export { DEFAULT_MAX_OPEN_FILES } from './fd-pool.js';
