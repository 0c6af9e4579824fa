// Over 400 lines, whole on purpose: a flat catalogue of the wire's shapes with no logic, the one
// file the web UI's type-only imports and the OpenAPI document read; its sections keep it navigable.
// The answers of the API as TypeBox schemas: the envelope and every result shape (user, file,
// task, parse result, ...), and the upload service's answers. One definition serves three
// purposes: the routes declare them as their response schemas (so /v1/openapi.json describes
// them), answers.ts builds its objects typed by them, and the web UI and the CLI import their
// types (type-only) instead of restating them.
//
// This module must stay free of Node and server code: the web UI's type check reads it. The
// schemas document the wire; they never shape it (server.ts serialises with JSON.stringify).
// Shapes that appear in many answers carry a `title`, under which the OpenAPI document lists
// them once (components.schemas) and refers to them.
import { Type, type Static, type TSchema } from '@sinclair/typebox';
import type { FailureEnvelope, SuccessEnvelope } from '../../envelope.js';
import { ERRORS, type ErrorCode } from '../../errors.js';

/** Whether two types are the same (each assignable to the other). */
type Same<A, B> = [A] extends [B] ? ([B] extends [A] ? true : false) : false;

const Int = (description?: string) => Type.Integer(description ? { description } : {});
const Str = (description?: string) => Type.String(description ? { description } : {});
const Millis = (description: string) => Type.Integer({ description: `${description} (ms since the epoch)` });

// ---- envelope ----

/** The code of a failure: one of errors.ts's registry. */
export const ErrorCodeSchema = Type.Unsafe<ErrorCode>(
  Type.String({ enum: Object.keys(ERRORS), description: 'A stable error code (docs/api.md, Error codes)' }),
);

/** What a failure's `result` may carry (TASK_EXISTS: the existing task's id); else null. */
const FailureDetails = Type.Union([Type.Null(), Type.Record(Type.String(), Type.Union([Type.String(), Type.Number()]))]);

/** A failed call. Over HTTP 200 for an endpoint's own errors, HTTP 401 for a missing or bad token. */
export const FailureSchema = Type.Object(
  {
    status: Type.Integer({ description: 'The HTTP status the code stands for' }),
    success: Type.Literal(false),
    code: ErrorCodeSchema,
    message: Str('For people; may change'),
    result: FailureDetails,
  },
  { title: 'Failure' },
);
// envelope.ts builds the envelopes (the upload service needs them outside http/): the schemas
// describe its types exactly, which the compiler checks here.
export type Failure = FailureEnvelope;
true satisfies Same<Static<typeof FailureSchema>, FailureEnvelope>;

/** The envelope of a successful call around its result. */
export function successOf<T extends TSchema>(result: T) {
  return Type.Object({
    status: Type.Literal(200),
    success: Type.Literal(true),
    code: Type.Literal('OK'),
    result,
    token: Str('The caller\'s session token ("" without one); login and register: the new session\'s'),
  });
}
export type Success<T> = SuccessEnvelope<T>;
true satisfies Same<Static<ReturnType<typeof successOf<TSchema>>>, SuccessEnvelope<unknown>>;

// ---- users ----

export const UserSchema = Type.Object(
  {
    uuid: Int("The user's id (6pan's name for it)"),
    identity: Int("The user's id"),
    name: Str(),
    isAdmin: Type.Boolean(),
    spaceUsed: Int('Bytes'),
    spaceCapacity: Int('Bytes'),
    offlineUsed: Int('Offline tasks started today (UTC)'),
    offlineQuota: Int('Offline tasks allowed per day; 0: unlimited'),
    createTime: Millis('Created'),
    email: Str('Always ""'),
    countryCode: Str('Always ""'),
    phone: Str('Always ""'),
    createIp: Str('Always ""'),
    icon: Str('Always ""'),
    type: Int('Always 0'),
    status: Int('Always 0'),
    version: Int('Always 0'),
  },
  { title: 'User' },
);
export type SixpanUser = Static<typeof UserSchema>;

// ---- files ----

export const FileSchema = Type.Object(
  {
    uuid: Str('32 hex digits; "" for the root'),
    storeId: Str('The content hash (an etag); "" for directories'),
    userId: Int(),
    path: Str(),
    name: Str(),
    ext: Str('With its dot; "" for none'),
    size: Int('Bytes'),
    mime: Str('application/x-directory for directories'),
    parent: Str('The parent\'s uuid; "" under the root'),
    type: Int('0 file, 1 directory'),
    atime: Millis('Accessed'),
    ctime: Millis('Created'),
    mtime: Millis('Modified'),
    version: Int('Goes up by one when store/token overrides the content'),
    locking: Type.Boolean(),
    preview: Int('Always -1'),
    hasPreview: Type.Boolean({ description: 'Always false' }),
    flag: Int('Always 0'),
    downloadAddress: Type.Optional(Str('files/get of a file: its signed download address')),
  },
  { title: 'File' },
);
export type SixpanFile = Static<typeof FileSchema>;

export const FilePageSchema = Type.Object(
  {
    list: Type.Array(FileSchema),
    page: Int(),
    pageSize: Int(),
    totalCount: Int(),
    totalPage: Int(),
    info: FileSchema,
  },
  { title: 'FilePage' },
);
export type FilePage = Static<typeof FilePageSchema>;

export const BinEntrySchema = Type.Object(
  {
    uuid: Str('32 hex digits: what recycle/restore and recycle/purge take'),
    name: Str(),
    ext: Str('With its dot; "" for none'),
    mime: Str(),
    type: Int('0 file, 1 directory'),
    size: Int('Bytes of the files it holds (a file: its size), still charged to the user'),
    originalPath: Str('Where it was; a restore puts it back there'),
    trashedAt: Millis('Removed'),
    expiresAt: Millis('Deleted for good by the hourly purge'),
  },
  { title: 'RecycleBinEntry' },
);

export const BinPageSchema = Type.Object(
  {
    list: Type.Array(BinEntrySchema),
    page: Int(),
    pageSize: Int(),
    totalCount: Int(),
    totalPage: Int(),
    totalSize: Int('Bytes of every file in the bin: part of the space used until purged'),
    recycleDays: Int('Days an entry stays in the bin (OPENPAN_RECYCLE_DAYS)'),
  },
  { title: 'RecycleBinPage' },
);
export type BinPage = Static<typeof BinPageSchema>;

export const SearchPageSchema = Type.Object(
  {
    list: Type.Array(FileSchema),
    page: Int(),
    pageSize: Int(),
    totalCount: Int('Entries found; at most 1,000 are counted (totalCountCapped then says so)'),
    totalPage: Int(),
    totalCountCapped: Type.Boolean({ description: 'More entries match than totalCount says' }),
  },
  { title: 'SearchPage' },
);
export type SearchPage = Static<typeof SearchPageSchema>;

export const FileListSchema = Type.Array(FileSchema);
export const FileList2Schema = Type.Object({ info: FileSchema, list: Type.Array(FileSchema) });

export const DownloadLinkSchema = Type.Object(
  {
    downloadAddress: Str("A signed address under /dl/ on the server's public URL"),
    expires: Millis('When the address stops working'),
  },
  { title: 'DownloadLink' },
);
export type DownloadLink = Static<typeof DownloadLinkSchema>;

const PreviewProperties = {
  uuid: Str(),
  name: Str(),
  hash: Str('The content hash'),
  storeId: Str('The content hash'),
  mime: Str(),
  size: Int('Bytes'),
  downloadAddress: Str("The file's signed download address"),
  url: Str('The same address'),
  address: Str('The same address'),
  expires: Millis('When the address stops working'),
};
export const PreviewSchema = Type.Object(PreviewProperties, { title: 'Preview' });
export const MediaPreviewSchema = Type.Object(
  {
    ...PreviewProperties,
    preview: Type.Array(Type.Object({ url: Str(), mime: Str(), size: Int(), duration: Int(), resolution: Int(), original: Type.Boolean() }), {
      description: 'The playable renditions: the original file',
    }),
  },
  { title: 'MediaPreview' },
);
/** openpan's own: how the browser plays a video or audio file (/v1/media/info). */
export const MediaInfoSchema = Type.Object(
  {
    mode: Type.Union([Type.Literal('direct'), Type.Literal('hls'), Type.Literal('needs-ffmpeg')], {
      description: 'direct: the file as it is; hls: converted by ffmpeg (remux or transcode); needs-ffmpeg: the server has no ffmpeg',
    }),
    url: Str('What the player loads: the signed download address (direct) or the signed HLS playlist; empty for needs-ffmpeg'),
    downloadAddress: Str("The file's signed download address"),
    duration: Type.Number({ description: 'Seconds; 0 when unknown' }),
    reason: Str('needs-ffmpeg: the container or codecs the browser cannot play'),
    videoCodec: Str('As ffprobe names it; empty when unknown or none'),
    audioCodec: Str('As ffprobe names it; empty when unknown or none'),
    transcoded: Type.Boolean({ description: 'Some stream is re-encoded, not only copied' }),
    subtitles: Type.Array(Type.Object({ label: Str(), language: Str('BCP 47, or empty'), url: Str('Signed WebVTT address') }), {
      description: 'Subtitle files beside the video with its base name, then its text subtitle streams',
    }),
  },
  { title: 'MediaInfo' },
);
export type MediaInfo = Static<typeof MediaInfoSchema>;

/** A file of another kind has no preview: `{}`, as the gateway answered. */
export const NoPreviewSchema = Type.Object({}, { description: 'No preview of this kind for the file' });

// ---- store/token ----

export const UploadTicketSchema = Type.Object(
  {
    uploadUrl: Str('The upload service (<public URL>/upload)'),
    type: Type.Literal(0),
    token: Str('The upload token for this one file'),
    version: Type.Literal(1),
    name: Str(),
    parent: Str('The destination as the client gave it ("" for the root)'),
    userId: Int(),
  },
  { title: 'UploadTicket' },
);
export type UploadTicket = Static<typeof UploadTicketSchema>;
/** Instant upload: the file; otherwise where and how to send the bytes. */
export const StoreTokenResultSchema = Type.Union([FileSchema, UploadTicketSchema]);
export type StoreTokenResult = Static<typeof StoreTokenResultSchema>;

// ---- offline ----

export const ParsedFileSchema = Type.Object(
  {
    index: Int(),
    path: Str(),
    size: Int('Bytes'),
    cached: Type.Boolean({ description: 'The server already holds this content' }),
  },
  { title: 'ParsedFile' },
);
export type ParsedFile = Static<typeof ParsedFileSchema>;

export const ParseResultSchema = Type.Object(
  {
    taskHash: Str('Opaque, signed, bound to the caller, valid 24 h: what offline/start takes'),
    type: Int('0 .torrent, 10 magnet link, 20 HTTP/HTTPS URL, 40 ed2k link'),
    name: Str(),
    infoHash: Str('BitTorrent v1 info hash, 40 hex; "" for URLs and ed2k'),
    url: Str('The link; "" for a .torrent'),
    size: Int('Bytes'),
    files: Type.Optional(Type.Array(ParsedFileSchema, { description: "Absent while a magnet link's metadata is pending" })),
    server: Type.Boolean({ description: 'The server holds every file: a start completes without downloading' }),
    metadataPending: Type.Optional(Type.Literal(true)),
    needPassword: Type.Literal(false),
    fail: Type.Literal(false),
  },
  { title: 'ParseResult' },
);
export type SixpanParse = Static<typeof ParseResultSchema>;

/** A line of a multi-link parseUrl that could not be parsed. */
export const ParseFailureSchema = Type.Object(
  {
    url: Str(),
    errorCode: Str('The code the line would have failed with alone'),
    message: Str(),
    fail: Type.Literal(true),
    needPassword: Type.Literal(false),
  },
  { title: 'ParseFailure' },
);
export type SixpanParseFailure = Static<typeof ParseFailureSchema>;
/** One line: its parse result; several: one entry per line, in order. */
export const ParseUrlResultSchema = Type.Union([ParseResultSchema, Type.Array(Type.Union([ParseResultSchema, ParseFailureSchema]))]);
export type ParseUrlResult = Static<typeof ParseUrlResultSchema>;

export const TaskFileDetailSchema = Type.Object(
  {
    index: Int(),
    path: Str(),
    size: Int('Bytes'),
    finishedSize: Int('Bytes'),
    progress: Int('0-100'),
    status: Int('100 once the file is in the drive'),
    uuid: Str('The drive file once imported; "" until then'),
    storeId: Str(),
  },
  { title: 'TaskFileDetail' },
);
export type TaskFileDetail = Static<typeof TaskFileDetailSchema>;

const TaskProperties = {
  taskId: Str('32 hex digits'),
  type: Int('0 .torrent, 10 magnet link, 20 HTTP/HTTPS URL, 40 ed2k link'),
  name: Str(),
  infoHash: Str(),
  url: Str('"" for a .torrent'),
  size: Int('Bytes selected'),
  finishedSize: Int('Bytes'),
  progress: Int('0-100'),
  speed: Type.Number({ description: 'Bytes/s' }),
  peers: Int(),
  refusedPeers: Int('Peer addresses the address policy refused'),
  fileCount: Int('Files the task downloads: its selection (1 for a URL, 0 while a magnet link has no file list)'),
  savedFiles: Int('Files of the selection already in the drive: while saving (status 50), the progress of the import'),
  savedSize: Int('Bytes of those files'),
  status: Int('-1 failed, 0 queued, 5 paused, 10 fetching metadata, 20 downloading, 50 saving, 100 done'),
  errorCode: Int('0 none; see docs/api.md'),
  error: Str('The failure\'s code as text; "" for none'),
  message: Str(),
  savePath: Str("The destination folder's path as it is now"),
  saveUuid: Str(),
  files: Type.Array(Type.Integer(), { description: 'Selected indices' }),
  copyFile: Str('The same indices as "0,2"'),
  copiedFile: Str('As copyFile once done, else ""'),
  userId: Int(),
  mime: Str('application/x-bittorrent for BitTorrent tasks, else from the name'),
  createTime: Millis('Created'),
  finishTime: Millis('Finished; 0 until then'),
};
export const TaskSchema = Type.Object(TaskProperties, { title: 'Task' });
export type SixpanTask = Static<typeof TaskSchema>;
/** offline/get: the task with its selected files. */
export const TaskDetailSchema = Type.Object({ ...TaskProperties, detail: Type.Array(TaskFileDetailSchema) }, { title: 'TaskDetail' });
export type TaskDetail = Static<typeof TaskDetailSchema>;

export const TaskFileAddressSchema = Type.Object(
  {
    address: Str(
      "Signed and expiring: while the file downloads, an address that serves its bytes as they arrive (ranged; the bytes asked for are fetched first); once it is in the drive, the file's download address",
    ),
    name: Str(),
    size: Int(),
    inDrive: Type.Boolean({ description: 'The file is in the drive: `address` is its download address' }),
    fileUuid: Str('The drive file, once it is there; empty before'),
    expires: Int('Milliseconds since the epoch'),
  },
  { title: 'TaskFileAddress' },
);
export type TaskFileAddress = Static<typeof TaskFileAddressSchema>;

export const TaskPageSchema = Type.Object(
  { list: Type.Array(TaskSchema), page: Int(), pageSize: Int(), totalCount: Int(), totalPage: Int() },
  { title: 'TaskPage' },
);
export type TaskPage = Static<typeof TaskPageSchema>;
export const TaskRangeSchema = Type.Object({ list: Type.Array(TaskSchema), start: Int(), size: Int(), totalCount: Int() }, { title: 'TaskRange' });
export type TaskRange = Static<typeof TaskRangeSchema>;

export const QuotaSchema = Type.Object(
  {
    used: Int('Tasks started today (UTC)'),
    quota: Int('Tasks allowed per day; 0: unlimited'),
    running: Int('Unfinished tasks now'),
    maxRunning: Int('Unfinished tasks allowed at once; 0: unlimited'),
    resetAt: Millis('When used starts again from 0'),
  },
  { title: 'Quota' },
);
export type Quota = Static<typeof QuotaSchema>;

// ---- app passwords (openpan's own: WebDAV and the qBittorrent API sign in with them) ----

export const AppPasswordSchema = Type.Object(
  {
    id: Int(),
    name: Str('What the user called it'),
    createTime: Millis('Created'),
    lastUseTime: Type.Union([Millis('Last used (to the minute)'), Type.Null()]),
  },
  { title: 'AppPassword' },
);
export type AppPassword = Static<typeof AppPasswordSchema>;
export const CreatedAppPasswordSchema = Type.Object(
  { id: Int(), name: Str(), password: Str('The password: shown only in this answer'), createTime: Millis('Created') },
  { title: 'CreatedAppPassword' },
);
export type CreatedAppPassword = Static<typeof CreatedAppPasswordSchema>;

/** What `event: remove` of the event stream carries. */
export const RemovedTaskSchema = Type.Object({ taskId: Str() });

// ---- the upload service (/upload) ----

export const BlockAnswerSchema = Type.Object(
  {
    ctx: Str('Quote it in the next bput, or in mkfile when the block is complete'),
    checksum: Str('URL-safe base64 SHA-1 of the chunk'),
    crc32: Int('CRC-32 of the chunk'),
    offset: Int('Bytes of the block received so far'),
    host: Str('The upload URL'),
    expired_at: Int('When the ctx lapses (seconds since the epoch)'),
  },
  { title: 'BlockAnswer' },
);
export type BlockAnswer = Static<typeof BlockAnswerSchema>;

export const UploadAnswerSchema = Type.Object(
  {
    hash: Str("The stored content's etag"),
    key: Str("The created file's name"),
    response: Str('The /v1 envelope of the created file, as JSON text'),
  },
  { title: 'UploadAnswer' },
);
export type UploadAnswer = Static<typeof UploadAnswerSchema>;

/** An upload service error: Qiniu's `error` and the envelope's fields, under the code's HTTP status. */
export const UploadFailureSchema = Type.Object(
  {
    error: Str(),
    code: ErrorCodeSchema,
    status: Int(),
    success: Type.Literal(false),
    message: Str(),
    result: Type.Null(),
  },
  { title: 'UploadFailure' },
);

// ---- share links ----

export const ShareSchema = Type.Object(
  {
    id: Type.String(),
    url: Type.String({ description: 'The public page, <public URL>/s/<id>' }),
    title: Type.String(),
    code: Type.String({ description: 'The extraction code; "" for none' }),
    expires: Type.Integer({ description: 'Ms since the epoch; 0: never' }),
    maxDownloads: Type.Integer({ description: '0: no limit' }),
    views: Type.Integer(),
    downloads: Type.Integer(),
    createdAt: Type.Integer(),
    entries: Type.Integer({ description: 'Shared entries that still exist (0: the share no longer opens)' }),
  },
  { title: 'Share' },
);
export const SharedEntrySchema = Type.Object(
  {
    uuid: Type.String(),
    name: Type.String(),
    path: Type.String({ description: "From the share's top, e.g. /Photos/2024/a.jpg" }),
    type: Type.Integer({ description: '0 file, 1 directory' }),
    size: Type.Integer(),
    ext: Type.String(),
    mime: Type.String(),
    mtime: Type.Integer(),
  },
  { title: 'SharedEntry' },
);
export const OpenedShareSchema = Type.Object(
  {
    id: Type.String(),
    title: Type.String(),
    owner: Type.String(),
    createdAt: Type.Integer(),
    expires: Type.Integer(),
    access: Type.String({ description: 'Give it back as "access" to browse, download, zip and save' }),
    list: Type.Array(SharedEntrySchema),
  },
  { title: 'OpenedShare' },
);
export const SharePageSchema = Type.Object({
  info: Type.Union([SharedEntrySchema, Type.Null()]),
  list: Type.Array(SharedEntrySchema),
  page: Type.Integer(),
  pageSize: Type.Integer(),
  totalCount: Type.Integer(),
});

export type ShareObject = Static<typeof ShareSchema>;
export type SharedEntry = Static<typeof SharedEntrySchema>;
export type OpenedShare = Static<typeof OpenedShareSchema>;
export type SharePage = Static<typeof SharePageSchema>;

// ---- request bodies the clients (CLI, web UI) send, from the routes' own schemas ----

/** A file selection: `"*"`, `"0,2,5"` or `[0, 2, 5]`; all files when absent. */
export const OfflineStartSelectionSchema = Type.Optional(
  Type.Union([Type.String(), Type.Array(Type.Union([Type.Integer({ minimum: 0 }), Type.String()]), { maxItems: 100_000 }), Type.Null()]),
);
/** 6pan's name for `files`; its clients leave nulls for unchecked files. */
export const CopyFileSchema = Type.Optional(
  Type.Union([Type.String(), Type.Array(Type.Union([Type.Integer({ minimum: 0 }), Type.String(), Type.Null()]), { maxItems: 100_000 }), Type.Null()]),
);
/** `POST /v1/offline/start`'s body. */
export const OfflineStartSchema = Type.Object({
  taskHash: Type.String(),
  copyFile: CopyFileSchema,
  files: OfflineStartSelectionSchema,
  savePath: Type.Optional(Type.Union([Type.String(), Type.Null()])),
  saveUuid: Type.Optional(Type.Union([Type.String(), Type.Null()])),
  name: Type.Optional(Type.Union([Type.String(), Type.Null()])),
});
export type OfflineStartBody = Static<typeof OfflineStartSchema>;

const OptionalText = Type.Optional(Type.Union([Type.String(), Type.Null()]));
/** `POST /v1/store/token`'s body. */
export const StoreTokenBodySchema = Type.Object({
  name: OptionalText,
  hash: OptionalText,
  /** The gateway's other name for `hash`. */
  fileHash: OptionalText,
  parent: OptionalText,
  path: OptionalText,
  override: Type.Optional(Type.Union([Type.Boolean(), Type.Integer(), Type.String(), Type.Null()])),
  size: Type.Optional(Type.Union([Type.Integer({ minimum: 0 }), Type.Null()])),
});
export type StoreTokenBody = Static<typeof StoreTokenBodySchema>;
