// The engines' public surface: the interface `offline/` programs against, and the engines.
export * from './engine.js';
export { btDhtFromEnv, failureFromError, WebTorrentEngine, type WebTorrentEngineOptions } from './bittorrent/webtorrent-engine.js';
