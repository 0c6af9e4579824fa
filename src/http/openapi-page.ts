// GET /v1/openapi.html: the OpenAPI document as a page for people, rendered on the server from
// the document itself. No script and nothing from elsewhere: the page's one stylesheet is
// inline and allowed by its hash, so its Content-Security-Policy allows nothing else.
import { createHash } from 'node:crypto';

type Schema = Record<string, unknown>;

interface Media {
  schema?: Schema;
}

interface Operation {
  summary?: string;
  description?: string;
  tags?: string[];
  security?: Array<Record<string, unknown>>;
  parameters?: Array<{ name: string; in: string; required?: boolean; description?: string; schema?: Schema }>;
  requestBody?: { content?: Record<string, Media> };
  responses?: Record<string, { description?: string; content?: Record<string, Media> }>;
}

export interface OpenApiDocument {
  openapi: string;
  info: { title: string; version: string; description?: string };
  tags?: Array<{ name: string; description?: string }>;
  paths: Record<string, Record<string, Operation>>;
  components?: { schemas?: Record<string, Schema> };
}

const STYLE = `
body { font: 15px/1.5 system-ui, sans-serif; margin: 0 auto; max-width: 70rem; padding: 1rem 1.5rem 4rem; color: #1d2330; }
h1 { margin-bottom: 0; } h2 { margin-top: 2.5rem; border-bottom: 1px solid #d5d9e0; }
h3 { font-size: 1rem; margin: 0; } h3 code { font-size: 1rem; }
section.op { border: 1px solid #d5d9e0; border-radius: 6px; padding: .6rem .9rem; margin: .8rem 0; }
.method { display: inline-block; min-width: 4.2rem; font-weight: 700; }
.get { color: #1a6fb0; } .post { color: #1b7f3b; } .head, .options { color: #7a5a00; }
.muted, .c { color: #5d6675; } .tag { font-size: .85rem; }
pre { background: #f4f6f9; padding: .6rem .8rem; border-radius: 4px; overflow-x: auto; font-size: 13px; line-height: 1.4; margin: .3rem 0; }
dl { margin: .3rem 0; } dt { font-weight: 600; margin-top: .4rem; } dd { margin-left: 1rem; }
nav ul { columns: 3 16rem; padding-left: 1rem; } nav li { break-inside: avoid; }
`;

/** The page's policy: its own inline stylesheet, nothing else. */
export const API_PAGE_CSP = [
  "default-src 'none'",
  `style-src 'sha256-${createHash('sha256').update(STYLE).digest('base64')}'`,
  "base-uri 'none'",
  "form-action 'none'",
  "frame-ancestors 'none'",
].join('; ');

function esc(text: unknown): string {
  return String(text).replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

/** `code` spans for backticks and bold for `**`; everything else escaped. */
function inline(text: string): string {
  return esc(text)
    .replace(/`([^`]+)`/g, '<code>$1</code>')
    .replace(/\*\*([^*]+)\*\*/g, '<strong>$1</strong>');
}

function prose(text: string | undefined): string {
  if (!text) return '';
  return text
    .split('\n\n')
    .map((para) => `<p>${inline(para)}</p>`)
    .join('');
}

const SHAPE_PREFIX = '#/components/schemas/';

function shapeLink(ref: string): string {
  const name = ref.startsWith(SHAPE_PREFIX) ? ref.slice(SHAPE_PREFIX.length) : ref;
  return `<a href="#shape-${esc(name)}">${esc(name)}</a>`;
}

/** A schema as a TypeScript-like type, descriptions as comments (HTML, for a `pre`). */
export function renderSchema(schema: Schema | undefined, indent = ''): string {
  if (!schema || Object.keys(schema).length === 0) return 'any';
  if (typeof schema.$ref === 'string') return shapeLink(schema.$ref);
  const union = (schema.anyOf ?? schema.oneOf) as Schema[] | undefined;
  if (union) return union.map((s) => renderSchema(s, indent)).join(' | ');
  if (Array.isArray(schema.enum)) return schema.enum.map((v) => esc(JSON.stringify(v))).join(' | ');
  if (schema.const !== undefined) return esc(JSON.stringify(schema.const));
  const type = schema.type;
  if (Array.isArray(type)) return type.map((t) => renderSchema({ ...schema, type: t }, indent)).join(' | ');
  switch (type) {
    case 'object': {
      const properties = (schema.properties ?? {}) as Record<string, Schema>;
      const required = new Set((schema.required ?? []) as string[]);
      const inner = `${indent}  `;
      const lines = Object.entries(properties).map(([name, prop]) => {
        const note = typeof prop.description === 'string' ? `  <span class="c">// ${esc(prop.description)}</span>` : '';
        return `${inner}${esc(name)}${required.has(name) ? '' : '?'}: ${renderSchema(prop, inner)}${note}`;
      });
      const extra = schema.additionalProperties ?? schema.patternProperties;
      if (extra && typeof extra === 'object') {
        const value = 'patternProperties' in schema ? Object.values(extra as Record<string, Schema>)[0] : (extra as Schema);
        lines.push(`${inner}[key: string]: ${renderSchema(value, inner)}`);
      }
      return lines.length === 0 ? '{}' : `{\n${lines.join('\n')}\n${indent}}`;
    }
    case 'array': {
      if (schema.maxItems === 0) return '[]';
      const item = renderSchema(schema.items as Schema | undefined, indent);
      return /[|\n]/.test(item) && !item.startsWith('{') ? `(${item})[]` : `${item}[]`;
    }
    case 'string':
      return schema.format ? `string <span class="c">(${esc(schema.format)})</span>` : 'string';
    case 'integer':
    case 'number':
    case 'boolean':
    case 'null':
      return type;
    default:
      return 'any';
  }
}

/** Each schema once, under the media types that share it. */
function renderContent(content: Record<string, Media> | undefined): string {
  if (!content) return '<span class="muted">no body</span>';
  const byShape = new Map<string, string[]>();
  for (const [type, media] of Object.entries(content)) {
    const shape = renderSchema(media.schema);
    byShape.set(shape, [...(byShape.get(shape) ?? []), type]);
  }
  return [...byShape].map(([shape, types]) => `<div>${types.map((t) => `<code>${esc(t)}</code>`).join(', ')}<pre>${shape}</pre></div>`).join('');
}

function operationId(method: string, path: string): string {
  return `op-${method}-${path}`.replace(/[^A-Za-z0-9_-]+/g, '-');
}

function renderOperation(method: string, path: string, op: Operation, alsoHead: boolean): string {
  const needsToken = (op.security ?? []).length > 0;
  const params = (op.parameters ?? [])
    .map(
      (p) =>
        `<dt><code>${esc(p.name)}</code> <span class="muted">(${esc(p.in)}${p.required ? ', required' : ''})</span></dt><dd>${renderSchema(p.schema)}${p.description ? ` — ${esc(p.description)}` : ''}</dd>`,
    )
    .join('');
  const responses = Object.entries(op.responses ?? {})
    .map(([status, r]) => `<dt>${esc(status)} <span class="muted">${esc(r.description ?? '')}</span></dt><dd>${renderContent(r.content)}</dd>`)
    .join('');
  return `<section class="op" id="${esc(operationId(method, path))}">
<h3><span class="method ${esc(method)}">${esc(method.toUpperCase())}</span> <code>${esc(path)}</code>${alsoHead ? ' <span class="muted">(and HEAD)</span>' : ''}</h3>
<div>${inline(op.summary ?? '')} <span class="tag muted">${needsToken ? 'session token' : 'no token'}</span></div>
${prose(op.description)}
${params ? `<dl><dt>Parameters</dt><dd><dl>${params}</dl></dd></dl>` : ''}
${op.requestBody ? `<dl><dt>Body</dt><dd>${renderContent(op.requestBody.content)}</dd></dl>` : ''}
<dl><dt>Answers</dt><dd><dl>${responses}</dl></dd></dl>
</section>`;
}

/** The whole page. */
export function renderApiPage(doc: OpenApiDocument, jsonUrl: string): string {
  const byTag = new Map<string, Array<[string, string, Operation]>>();
  for (const [path, item] of Object.entries(doc.paths)) {
    for (const [method, op] of Object.entries(item)) {
      // HEAD answers as GET without the body: shown with its GET.
      if (method === 'head' && item.get) continue;
      const tag = op.tags?.[0] ?? 'other';
      if (!byTag.has(tag)) byTag.set(tag, []);
      byTag.get(tag)!.push([method, path, op]);
    }
  }
  const tags = [
    ...(doc.tags ?? []).map((t) => t.name).filter((t) => byTag.has(t)),
    ...[...byTag.keys()].filter((t) => !(doc.tags ?? []).some((d) => d.name === t)),
  ];
  const describe = (tag: string) => doc.tags?.find((t) => t.name === tag)?.description ?? '';
  const nav = tags
    .map(
      (tag) =>
        `<li><a href="#tag-${esc(tag)}">${esc(tag)}</a><ul>${byTag
          .get(tag)!
          .map(([m, p]) => `<li><a href="#${esc(operationId(m, p))}">${esc(m.toUpperCase())} ${esc(p)}</a></li>`)
          .join('')}</ul></li>`,
    )
    .join('');
  const sections = tags
    .map(
      (tag) =>
        `<h2 id="tag-${esc(tag)}">${esc(tag)}</h2><p class="muted">${esc(describe(tag))}</p>${byTag
          .get(tag)!
          .map(([m, p, op]) => renderOperation(m, p, op, m === 'get' && doc.paths[p].head !== undefined))
          .join('\n')}`,
    )
    .join('\n');
  const shapes = Object.entries(doc.components?.schemas ?? {})
    .map(
      ([name, schema]) =>
        `<section class="op" id="shape-${esc(name)}"><h3>${esc(name)}</h3>${prose(schema.description as string | undefined)}<pre>${renderSchema(schema)}</pre></section>`,
    )
    .join('\n');
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${esc(doc.info.title)} API</title>
<style>${STYLE}</style>
</head>
<body>
<h1>${esc(doc.info.title)} API</h1>
<p class="muted">version ${esc(doc.info.version)} · OpenAPI ${esc(doc.openapi)} · <a href="${esc(jsonUrl)}">${esc(jsonUrl)}</a></p>
${prose(doc.info.description)}
<nav><ul>${nav}<li><a href="#shapes">shapes</a></li></ul></nav>
${sections}
<h2 id="shapes">Shapes</h2>
${shapes}
</body>
</html>
`;
}
