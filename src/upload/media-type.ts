// The `mimeType` an uploader may give (docs/spec/UPLOAD.md: a form field, mkfile's `/mimeType/<base64>`
// path segment or `MimeType` header). A well-formed media type of a registered top-level type
// becomes the file's `mime`; anything else is ignored and the type comes from the name.

/** RFC 6838 top-level types. */
const TOP_LEVEL = new Set(['application', 'audio', 'font', 'example', 'image', 'message', 'model', 'multipart', 'text', 'video']);
/** RFC 6838 restricted-name, at most 127 characters. */
const RESTRICTED_NAME_RE = /^[a-z0-9][a-z0-9!#$&^_.+-]{0,126}$/;

/** `value` as a media type without parameters, lower case; undefined when it is not one. */
export function mediaTypeOf(value: string | undefined): string | undefined {
  if (value === undefined) return undefined;
  const essence = value.split(';')[0].trim().toLowerCase();
  const slash = essence.indexOf('/');
  if (slash < 0) return undefined;
  const type = essence.slice(0, slash);
  const subtype = essence.slice(slash + 1);
  return TOP_LEVEL.has(type) && RESTRICTED_NAME_RE.test(subtype) ? `${type}/${subtype}` : undefined;
}
