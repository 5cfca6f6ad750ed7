import type { NextFunction, Request, Response } from 'express';
import { OpenAPIBackend, ValidationContext } from 'openapi-backend';
import type { OpenAPIV3 } from 'openapi-types';

/**
 * Every response a test app sends, checked against the app's own OpenAPI
 * document with openapi-backend: the status is one the operation declares,
 * the Content-Type one declared for that status, and the body (each line of
 * an NDJSON export) validates. Installed by the test app as the first Express
 * middleware, so no test can bypass it; the test app fails the test that
 * caused a violation (see test-app.ts).
 */
export class OpenApiConformance {
  /** Responses checked so far, and what was wrong with any of them. */
  checked = 0;
  readonly violations: string[] = [];
  private validators?: Validators;

  /** Reads the document the app serves; call it after init, before any test request. */
  async load(document: OpenAPIV3.Document): Promise<void> {
    this.validators = await validatorsFor(document);
  }

  /** The Express middleware: it watches the response and checks it once its status and headers are sent. */
  readonly middleware = (request: Request, response: Response, next: NextFunction): void => {
    const method = request.method.toLowerCase();
    const path = request.originalUrl.split('?')[0] ?? '/';
    const chunks: Buffer[] = [];
    let done = false;
    const check = (withBody: boolean): void => {
      if (done) return;
      done = true;
      // The document itself, Swagger UI's files and the web console's files (and the redirect from /console
      // to /console/) are not API operations. An error there is checked as on any path the document does not
      // know: a 404 problem+json (console.not-built where it was not built).
      if ((isDocs(path) || isConsole(path)) && response.statusCode < 400) return;
      const body = withBody ? Buffer.concat(chunks).toString('utf8') : undefined;
      const problems = this.problemsOf(method, path, response, body);
      this.checked += 1;
      if (problems.length > 0)
        this.violations.push(
          `${method.toUpperCase()} ${request.originalUrl} → ${response.statusCode}: ${problems.join('; ')}`,
        );
    };
    const { write, end } = response;
    const capture = (chunk: unknown, encoding: unknown): void => {
      if (chunk === undefined || chunk === null || typeof chunk === 'function') return;
      chunks.push(
        Buffer.isBuffer(chunk)
          ? chunk
          : Buffer.from(chunk as string, typeof encoding === 'string' ? (encoding as BufferEncoding) : 'utf8'),
      );
    };
    response.write = function (this: Response, chunk: unknown, ...rest: unknown[]) {
      // An event stream may never end: its status and type are all there is to check.
      if (mediaTypeOf(response) === 'text/event-stream') check(false);
      else capture(chunk, rest[0]);
      return (write as (...args: unknown[]) => boolean).call(this, chunk, ...rest);
    } as Response['write'];
    response.end = function (this: Response, chunk?: unknown, ...rest: unknown[]) {
      capture(chunk, rest[0]);
      check(true);
      return (end as (...args: unknown[]) => Response).call(this, chunk, ...rest);
    } as Response['end'];
    response.on('close', () => {
      if (response.headersSent) check(false);
    });
    next();
  };

  private problemsOf(method: string, path: string, response: Response, body: string | undefined): string[] {
    const validators = this.validators;
    if (validators === undefined) return ['the OpenAPI document was not loaded before the request'];
    const status = response.statusCode;
    const mediaType = mediaTypeOf(response);
    const api = validators.document;
    const operation = api.matchOperation({ method, path, headers: {} });
    if (operation === undefined) {
      return unknownRouteProblems(validators, status, mediaType, body);
    }
    const declared = operation.responses?.[String(status)] as OpenAPIV3.ResponseObject | undefined;
    if (declared === undefined)
      return [`status ${status} is not declared (declared: ${Object.keys(operation.responses ?? {}).join(', ')})`];
    const content = declared.content ?? {};
    if (Object.keys(content).length === 0)
      return body === undefined || body === '' ? [] : [`status ${status} declares no body, but one was sent`];
    if (mediaType === undefined || content[mediaType] === undefined)
      return [
        `Content-Type ${mediaType ?? '(none)'} is not declared for ${status} (declared: ${Object.keys(content).join(', ')})`,
      ];
    const headers = api.validateResponseHeaders(response.getHeaders(), operation, { statusCode: status });
    const problems = headers.errors?.map((error) => `header ${error.instancePath} ${error.message}`) ?? [];
    if (body === undefined) return problems;
    const documents = jsonDocumentsOf(mediaType, body);
    if (documents === undefined) return problems; // text: CSV, SSE
    const typed = validators.forMediaType(mediaType);
    const typedOperation = typed.api.getOperation(operation.operationId!)!;
    for (const [index, document] of documents.entries()) {
      if (document instanceof Error) problems.push(`body item ${index}: ${document.message}`);
      else {
        const result = typed.api.validateResponse(document, typedOperation, status);
        for (const error of result.errors ?? [])
          problems.push(`body${documents.length > 1 ? ` item ${index}` : ''}${error.instancePath} ${error.message}`);
      }
    }
    return problems;
  }
}

/**
 * Bodies are read before routing, so a request on a path the document does
 * not know is refused for a body that cannot be read (400, 413, 415) before
 * it can be a 404.
 */
const UNKNOWN_ROUTE_STATUSES = new Set([404, 400, 413, 415]);

/** Any answer on a path the document does not know: 404 (or a refused body) as problem+json, as SPEC §6 says of every error. */
function unknownRouteProblems(
  validators: Validators,
  status: number,
  mediaType: string | undefined,
  body?: string,
): string[] {
  if (!UNKNOWN_ROUTE_STATUSES.has(status) || mediaType !== 'application/problem+json')
    return [
      `no operation matches; expected 404 (or 400, 413, 415 for a body) application/problem+json, got ${status} ${mediaType ?? '(no Content-Type)'}`,
    ];
  if (body === undefined) return [];
  const [document] = jsonDocumentsOf(mediaType, body) ?? [];
  const validate = validators.problem;
  if (validate === undefined) return ['the document has no ProblemDetails schema to check the body with'];
  if (document instanceof Error) return [`body: ${document.message}`];
  return validate(document) ? [] : (validate.errors ?? []).map((error) => `body${error.instancePath} ${error.message}`);
}

/** The body as the JSON documents it carries: one, one per NDJSON line, or none for text. */
function jsonDocumentsOf(mediaType: string, body: string): (unknown | Error)[] | undefined {
  const parse = (text: string): unknown | Error => {
    try {
      return JSON.parse(text) as unknown;
    } catch (error) {
      return new Error(`not JSON: ${(error as Error).message}`);
    }
  };
  if (mediaType === 'application/x-ndjson')
    return body
      .split('\n')
      .filter((line) => line !== '')
      .map(parse);
  if (mediaType === 'application/json' || mediaType.endsWith('+json')) return [parse(body)];
  return undefined;
}

const isDocs = (path: string): boolean => path === '/docs' || path.startsWith('/docs/') || path === '/docs-json';
const isConsole = (path: string): boolean => path === '/console' || path.startsWith('/console/');

function mediaTypeOf(response: Response): string | undefined {
  const header = response.getHeader('content-type');
  return typeof header === 'string' ? header.split(';')[0]!.trim().toLowerCase() : undefined;
}

interface Validators {
  /** openapi-backend for the document as it is: it matches operations and knows every declared response. */
  document: OpenAPIBackend;
  /** openapi-backend for the document as seen by one media type (see asJsonContent), to validate bodies. */
  forMediaType(mediaType: string): { api: OpenAPIBackend };
  /** The ProblemDetails schema, for answers on unknown routes (no operation to look it up by). */
  problem?: ReturnType<ReturnType<OpenAPIBackend['validator']['getAjv']>['compile']>;
}

const validatorCache = new Map<string, Promise<Validators>>();

/** One set of validators per document (every test app of a spec file serves the same one). */
function validatorsFor(document: OpenAPIV3.Document): Promise<Validators> {
  const key = JSON.stringify(document);
  let validators = validatorCache.get(key);
  if (validators === undefined) {
    validators = buildValidators(document);
    validatorCache.set(key, validators);
  }
  return validators;
}

async function buildValidators(document: OpenAPIV3.Document): Promise<Validators> {
  const mediaTypes = new Set<string>(['application/json']);
  for (const response of responsesOf(document))
    for (const mediaType of Object.keys(response.content ?? {})) mediaTypes.add(mediaType);
  const backend = async (definition: OpenAPIV3.Document): Promise<OpenAPIBackend> => {
    // quick: validators compile on first use, not all at start (a test app's start-up has a 30 s budget), and
    // the document is not checked against the OpenAPI schema (openapi.e2e-spec.ts lints it with Redocly).
    // Formats beyond OpenAPI's own (date-time, email, uuid) are not checked without ajv-formats, which is not
    // a dependency here; ajv would warn once per schema that uses one.
    const api = new OpenAPIBackend({ definition, strict: true, quick: true, ajvOpts: { logger: false } });
    await api.init();
    return api;
  };
  const apis = new Map<string, OpenAPIBackend>();
  for (const mediaType of mediaTypes) apis.set(mediaType, await backend(asJsonContent(document, mediaType)));
  const json = apis.get('application/json')!;
  const problemSchema = (json.definition.components?.schemas ?? {})['ProblemDetails'];
  const original = await backend(structuredClone(document));
  return {
    document: original,
    forMediaType: (mediaType) => ({ api: apis.get(mediaType) ?? json }),
    problem:
      problemSchema === undefined
        ? undefined
        : json.validator.getAjv(ValidationContext.Response).compile(problemSchema),
  };
}

/**
 * openapi-backend validates response bodies only under `application/json`;
 * to check those sent as `mediaType` (problem+json, NDJSON lines) it gets a
 * copy of the document whose responses carry that media type's schema under
 * `application/json` (and no body schema where that type is not declared).
 */
function asJsonContent(document: OpenAPIV3.Document, mediaType: string): OpenAPIV3.Document {
  const copy = structuredClone(document);
  for (const response of responsesOf(copy)) {
    const media = response.content?.[mediaType];
    if (response.content !== undefined) response.content = media === undefined ? {} : { 'application/json': media };
  }
  return copy;
}

const METHODS = ['get', 'put', 'post', 'delete', 'options', 'head', 'patch', 'trace'] as const;

function responsesOf(document: OpenAPIV3.Document): OpenAPIV3.ResponseObject[] {
  return Object.values(document.paths).flatMap((item) =>
    METHODS.flatMap((method) => Object.values(item?.[method]?.responses ?? {}) as OpenAPIV3.ResponseObject[]),
  );
}
