// Outgoing HTTP(S) for users' URLs: the address policy (SSRF), the guarded connection layer and
// the parse-time probe.
export {
  addressClass,
  AddressPolicy,
  hostToCheck,
  parseCidr,
  parseCidrList,
  type AddressClass,
  type Cidr,
  type PolicyVerdict,
  type UrlHost,
} from './address-policy.js';
export { filenameFromContentDisposition, filenameFromUrl } from './content-disposition.js';
export { asFetchError, FetchError, isFetchError, type FetchErrorCode } from './fetch-error.js';
export { contentLength, parseContentRange, probeUrl, type ProbeOptions, type ProbeResult } from './probe.js';
export { RawUnsupported, rawGet, type RawBodyHandlers } from './raw-get.js';
export {
  DEFAULT_CONNECT_TIMEOUT_MS,
  DEFAULT_IDLE_TIMEOUT_MS,
  DEFAULT_MAX_REDIRECTS,
  getFollowingRedirects,
  policyLookup,
  safeGet,
  type FollowOptions,
  type SafeRequestOptions,
} from './safe-fetch.js';
export { guardedAgents, installDefaultAgents, type GuardedAgents } from './guarded-agent.js';
