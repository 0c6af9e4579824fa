// The qBittorrent Web API v2 (`/api/v2/`) over openpan's offline tasks.
export { QBT_VERSION, QBT_WEBAPI_VERSION, QbtService, splitTags, type AddInput, type InfoQuery, type QbtServiceDeps } from './qbt.service.js';
export { QbtRepo } from './qbt.repo.js';
export { QbtSessions, SESSION_TTL_MS, type QbtSession } from './sessions.js';
export { torrentLinkFetcher, type TorrentLink } from './torrent-link.js';
export { QbtPaths, type QbtTorrent } from './torrent-view.js';
