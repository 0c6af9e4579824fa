import { Type, type Static } from '@sinclair/typebox';

// Every OPENPAN_* environment variable openpan reads — the server, the command line and fsck —
// with its type and limits, its default and what it means. All are optional; an empty (or
// blank) value counts as unset. env.ts reads them; the tables in docs/ show `description` and
// the default of each, and test/config/docs.test.ts keeps the two in step.
//
// Options besides JSON Schema's:
//   docDefault  the default as the docs show it: a computed one, "none", or a value with a
//               note (it then starts with the value itself, in backticks)
//   internal    a hook for tests: not documented
//   lenient     (a boolean) only the spellings of "off" are read; any other value means on
//   separator   (a list) what separates its entries: `,` alone; default commas or whitespace

export const ConfigSchema = Type.Object({
  // ---- the server ----
  OPENPAN_HOST: Type.String({ default: '127.0.0.1', description: 'address to listen on (`0.0.0.0` for every interface)' }),
  OPENPAN_PORT: Type.Integer({ minimum: 0, default: 7777, description: 'port to listen on' }),
  OPENPAN_DATA_DIR: Type.String({ default: './data', description: 'database, content store, partial uploads, the secret' }),
  OPENPAN_DATABASE_URL: Type.Optional(
    Type.String({
      docDefault: 'none: SQLite in the data directory',
      description:
        '`postgres://user:password@host:port/db` keeps the state in PostgreSQL instead (docs/scale-out.md); migrations run at start under an advisory lock',
    }),
  ),
  OPENPAN_PUBLIC_URL: Type.String({
    default: '',
    docDefault: '`http://<host>:<port>`',
    description: 'the base URL clients reach the server at; upload (`<url>/upload`) and download addresses are built from it. Set it behind a reverse proxy',
  }),
  OPENPAN_UPLOAD_URL: Type.Optional(
    Type.String({
      docDefault: '`<public URL>/upload`',
      description:
        'where this process receives uploads: `/v1/store/token` hands it out and every block and `mkfile` of that upload comes back to it. Several API processes behind one address: give each its own (docs/scale-out.md)',
    }),
  ),
  OPENPAN_SECRET: Type.Optional(
    Type.String({ docDefault: 'generated into `<data>/secret`', description: 'key for every signature (upload tokens, download URLs, block contexts)' }),
  ),
  OPENPAN_ADMIN_NAME: Type.String({ default: 'admin', description: 'name of the administrator created on the first start' }),
  OPENPAN_ADMIN_PASSWORD: Type.Optional(Type.String({ docDefault: 'random, printed once', description: 'password of that administrator' })),
  OPENPAN_REGISTRATION: Type.Union([Type.Literal('open'), Type.Literal('closed')], {
    default: 'closed',
    description: '`open` lets anyone register with `/v1/user/register`; the initial value only: once changed in the admin console, the stored setting wins',
  }),
  OPENPAN_DAV_ACCOUNT_PASSWORD: Type.Boolean({
    default: false,
    description: '`1` lets WebDAV and the qBittorrent API accept the account password as well as app passwords',
  }),
  OPENPAN_DEFAULT_QUOTA: Type.Integer({
    minimum: 0,
    default: 100 * 1024 ** 3,
    docDefault: '`107374182400` (100 GiB)',
    description: 'space of a new user, bytes; the initial value only, like `OPENPAN_REGISTRATION`',
  }),
  OPENPAN_MAX_ENTRIES: Type.Integer({
    minimum: 0,
    default: 1_000_000,
    description: 'files and folders one user may have (`ENTRIES_EXCEEDED` beyond); `0`: no limit',
  }),
  OPENPAN_DOWNLOAD_URL_TTL: Type.Integer({
    minimum: 0,
    default: 6 * 3600,
    docDefault: '`21600` (6 h)',
    description: 'lifetime of a signed download address, seconds',
  }),
  OPENPAN_UPLOAD_TOKEN_TTL: Type.Integer({ minimum: 0, default: 24 * 3600, docDefault: '`86400` (24 h)', description: 'lifetime of an upload token, seconds' }),
  OPENPAN_UPLOAD_EXPIRY: Type.Integer({
    minimum: 0,
    default: 24 * 3600,
    docDefault: '`86400` (24 h)',
    description: 'partial uploads untouched for this long are deleted, seconds',
  }),
  OPENPAN_RECYCLE_DAYS: Type.Integer({
    minimum: 0,
    default: 30,
    description:
      "days a removed file or folder stays in its owner's recycle bin (still counting toward their space) before the hourly collection deletes it for good; `0` = no bin, removals are final",
  }),
  OPENPAN_HEADERS_TIMEOUT: Type.Integer({
    minimum: 0,
    default: 60,
    description: "seconds a client has to send a request's headers (then `408` and the connection is closed); `0` = no limit",
  }),
  // Six hours: 6pan's Android app sends a whole file as one form (a 4 GiB video at 200 KiB/s
  // still gets through); a silent body is cut far sooner by the idle timeout.
  OPENPAN_REQUEST_TIMEOUT: Type.Integer({
    minimum: 0,
    default: 6 * 3600,
    docDefault: '`21600` (6 h)',
    description:
      "seconds a client has to send a whole request, headers and body (then `408`): a backstop against a body trickled just fast enough to dodge the idle timeout. 6pan's Android app sends a whole file as one form, so it is long; `0` = no limit",
  }),
  OPENPAN_BODY_IDLE_TIMEOUT: Type.Integer({
    minimum: 0,
    default: 60,
    description:
      'seconds an upload body (`/upload/*`) may send nothing before its connection is closed and what it wrote is deleted; a slow body that keeps moving is never cut; `0` = no limit',
  }),
  OPENPAN_LOG_LEVEL: Type.String({ default: 'info', description: '`fatal`, `error`, `warn`, `info`, `debug`, `silent`' }),
  OPENPAN_TRUST_PROXY: Type.Array(Type.String(), {
    default: [],
    docDefault: 'empty',
    description:
      "reverse proxies (comma-separated addresses or CIDRs, e.g. `127.0.0.1,10.0.0.0/8`) whose `X-Forwarded-For` names the client; behind one, set it, or every client shares the proxy's address for the per-address login limit",
  }),
  OPENPAN_CORS_ORIGINS: Type.Array(Type.String(), {
    default: [],
    docDefault: 'empty',
    description:
      "browser origins (comma-separated, e.g. `https://6pan.example.com`) allowed to call the API from another origin, as 6pan's web front end does; `*` for any",
  }),
  OPENPAN_LOGIN_MAX_FAILURES: Type.Integer({
    minimum: 0,
    default: 10,
    description:
      'failed logins per account within the window before `/v1/user/login` answers `429 TOO_MANY_REQUESTS` with `Retry-After` (an address may fail 5× as often); `0` switches the limit off',
  }),
  OPENPAN_LOGIN_WINDOW: Type.Integer({ minimum: 0, default: 15 * 60, description: 'the sliding window, seconds' }),

  // ---- several processes (docs/scale-out.md) ----
  OPENPAN_ROLE: Type.Union([Type.Literal('all'), Type.Literal('api'), Type.Literal('worker')], {
    default: 'all',
    description:
      '`all`: one process does everything. `api`: serves HTTP and runs no download engine; `worker`: runs the offline downloads and serves only `GET /health` on `OPENPAN_PORT`. `api` and `worker` need what every process shares: PostgreSQL (`OPENPAN_DATABASE_URL`), a bucket (`OPENPAN_STORE`) and `OPENPAN_SECRET`; without them they are refused at start',
  }),
  OPENPAN_JOB_LEASE: Type.Integer({
    minimum: 1,
    default: 30,
    description:
      "seconds a worker's claim on an offline job holds without a heartbeat (renewed every third of it): the jobs of a worker that dies are taken over by another after this",
  }),

  // ---- the content store ----
  OPENPAN_STORE: Type.Optional(
    Type.String({
      docDefault: 'unset: `<data dir>/blobs` on local disk',
      description:
        "`s3://BUCKET[/prefix]` keeps content in an S3-compatible bucket (AWS S3, MinIO, R2, Ceph RGW, B2), reached with the AWS SDK's own variables `AWS_ACCESS_KEY_ID`, `AWS_SECRET_ACCESS_KEY`, `AWS_REGION`, `AWS_ENDPOINT_URL_S3`",
    }),
  ),
  OPENPAN_S3_FORCE_PATH_STYLE: Type.Boolean({
    default: false,
    description: '`1` addresses the bucket as `<endpoint>/<bucket>/<key>` instead of `<bucket>.<endpoint>/<key>` (MinIO and most self-hosted servers need it)',
  }),
  OPENPAN_S3_PRESIGN: Type.Boolean({
    default: false,
    description:
      '`1` answers a download (`/dl`) with a redirect to a presigned GET of the bucket, so the bytes do not pass through the server (clients must reach the bucket)',
  }),

  // ---- offline download: BitTorrent ----
  OPENPAN_BT_DHT: Type.Boolean({ default: true, lenient: true, description: '`0` switches the BitTorrent DHT off (tests always do)' }),
  OPENPAN_BT_PEX: Type.Boolean({ default: true, description: '`0` switches peer exchange off' }),
  OPENPAN_BT_UTP: Type.Boolean({ default: false, description: '`1` accepts incoming uTP connections' }),
  OPENPAN_BT_PORT: Type.Integer({ minimum: 0, default: 0, docDefault: '`0` (any free port)', description: 'TCP port for incoming peers' }),
  OPENPAN_BT_MAX_CONNS: Type.Integer({ minimum: 1, default: 200, description: 'peer connections across all downloads' }),
  OPENPAN_BT_MAX_ACTIVE: Type.Integer({ minimum: 1, default: 5, description: 'downloads running at once; the rest wait in the queue' }),
  OPENPAN_BT_MAX_METADATA_FETCHES: Type.Integer({
    minimum: 1,
    default: 20,
    description:
      "magnet metadata lookups (from parsing) running at once, in a pool of their own so they never take a download's slot; a user may have 5 at once (then `429 TOO_MANY_REQUESTS`)",
  }),
  OPENPAN_BT_DOWNLOAD_LIMIT: Type.Optional(Type.Integer({ minimum: 0, docDefault: 'none', description: 'global download rate limit, bytes/s; `0` = none' })),
  OPENPAN_BT_UPLOAD_LIMIT: Type.Optional(Type.Integer({ minimum: 0, docDefault: 'none', description: 'global upload rate limit, bytes/s; `0` = none' })),
  OPENPAN_BT_NO_PEERS_TIMEOUT: Type.Integer({
    minimum: 1,
    default: 1800,
    description: 'seconds without a peer or data before a download fails with `NO_PEERS_TIMEOUT`',
  }),
  OPENPAN_MAX_OPEN_FILES: Type.Integer({
    minimum: 1,
    default: 256,
    description:
      'files the BitTorrent engine keeps open at once, all downloads and seeds together (a pool that closes the least recently used): a torrent of 100,000 files holds no more descriptors than one of ten',
  }),
  // Seeding after the import: off unless one of these is set; with both, whichever comes first.
  OPENPAN_SEED_RATIO: Type.Optional(
    Type.Number({
      minimum: 0,
      docDefault: 'unset',
      description: 'keep seeding a finished torrent until uploaded ÷ size reaches this (e.g. `1.5`); `0` = no ratio limit',
    }),
  ),
  OPENPAN_SEED_TIME: Type.Optional(
    Type.Integer({
      minimum: 0,
      docDefault: 'unset',
      description: 'keep seeding a finished torrent this many seconds; `0` = no time limit. Both unset: no seeding after the import (the default)',
    }),
  ),
  OPENPAN_MAGNET_WAIT: Type.Integer({
    minimum: 0,
    default: 5,
    description: "seconds `parseUrl` waits for a magnet link's metadata before answering `metadataPending: true`",
  }),
  OPENPAN_MAGNET_PREFETCH: Type.Integer({
    minimum: 0,
    default: 120,
    description: 'seconds a metadata fetch started by a parse goes on after that, when no task wants it yet',
  }),

  // ---- offline download: URLs, the address policy, quotas ----
  OPENPAN_FETCH_ALLOW: Type.Array(Type.String({ format: 'cidr' }), {
    default: [],
    separator: ',',
    docDefault: 'empty',
    description:
      'comma-separated CIDRs or addresses that URL downloads, trackers, web seeds and BitTorrent peers may reach although they are not public, e.g. `10.0.0.0/8,fd00::/8,192.168.1.5`. Empty: public addresses only. A bad entry stops the server at start-up, naming it',
  }),
  OPENPAN_HTTP_SEGMENTS: Type.Integer({ minimum: 1, maximum: 64, default: 8, description: 'parallel ranged connections per URL download (1–64)' }),
  OPENPAN_HTTP_MAX_ACTIVE: Type.Integer({ minimum: 1, maximum: 1000, default: 5, description: 'URL downloads running at once' }),
  OPENPAN_HTTP_RETRIES: Type.Integer({
    minimum: 0,
    maximum: 100,
    default: 5,
    description: 'retries per request on 5xx, 408, 429, resets and timeouts (exponential backoff with jitter)',
  }),
  OPENPAN_HTTP_TIMEOUT: Type.Integer({
    minimum: 1,
    maximum: 3600,
    default: 30,
    description: 'seconds a connection may stay silent (the connect timeout is this, at most 15 s)',
  }),
  OPENPAN_OFFLINE_DAILY_TASKS: Type.Integer({
    minimum: 0,
    default: 500,
    description: "offline tasks a user may start per day (UTC); a user's own `offline_quota` overrides it; `0` = unlimited",
  }),
  OPENPAN_OFFLINE_MAX_RUNNING: Type.Integer({ minimum: 0, default: 50, description: 'unfinished offline tasks a user may have at once; `0` = unlimited' }),

  // ---- the qBittorrent-compatible API ----
  OPENPAN_QBT_PATH_ROOT: Type.String({
    default: '/mnt/openpan',
    description:
      'where the machines of qBittorrent clients (Sonarr, Radarr) see the drive, e.g. an `rclone mount` of its WebDAV: `/api/v2/` reports `save_path` and `content_path` under it, and a `savepath` under it names a folder of the drive',
  }),

  // ---- media: playback, transcoding, thumbnails ----
  OPENPAN_FFMPEG: Type.String({
    default: 'ffmpeg',
    docDefault: '`ffmpeg` (found on `PATH`)',
    description:
      'the ffmpeg program that remuxes and transcodes for the browser and makes video thumbnails (`ffprobe` is looked for beside it, else on `PATH`). Optional: without it the server starts, files the browser plays as they are still play, and the viewer says which need it',
  }),
  OPENPAN_MEDIA_CACHE_MAX: Type.Integer({
    minimum: 0,
    default: 2 * 1024 ** 3,
    docDefault: '`2147483648` (2 GiB)',
    description:
      'bytes of HLS segments, subtitles and thumbnails kept in `<data dir>/media-cache`, shared by every user of a content; the least recently used go first',
  }),
  OPENPAN_TRANSCODE_MAX: Type.Integer({
    minimum: 1,
    default: 2,
    description: 'ffmpeg processes producing HLS segments at once; one idle for a minute stops, and a new stream takes the place of the longest idle',
  }),

  // ---- the command line's client ----
  OPENPAN_CLI_CONFIG: Type.Optional(
    Type.String({
      docDefault: '`$XDG_CONFIG_HOME/openpan/cli.json` (`~/.config/openpan/cli.json`)',
      description: 'the session `openpan login` saves (readable by you only) and the client commands use',
    }),
  ),
  OPENPAN_CLI_STATE_DIR: Type.Optional(
    Type.String({
      docDefault: '`openpan-uploads` beside `OPENPAN_CLI_CONFIG` when that is set, else `$XDG_CACHE_HOME/openpan/uploads` (`~/.cache/openpan/uploads`)',
      description: 'where `openpan upload` keeps what it needs to resume an interrupted upload',
    }),
  ),
  OPENPAN_CLI_FAIL_AFTER_BLOCKS: Type.Optional(
    Type.Integer({ minimum: 0, internal: true, description: 'stops `openpan upload` after this many blocks, as an interruption would (tests of resuming)' }),
  ),
});

/** The variables' values, typed, with their defaults filled in. */
export type Settings = Static<typeof ConfigSchema>;
export type SettingName = keyof Settings;

export const SETTING_NAMES = Object.keys(ConfigSchema.properties) as SettingName[];
