/**
 * common/schema-problems — why a value fails a JSON Schema (TypeBox), in words a user can act on:
 * the dotted key, what was expected there and what was found. Shared by every schema Kiln
 * validates configuration with (kiln.yml in pipeline/config-schema, the training flags in
 * train/config-schema), so their messages read alike.
 */
import type { TSchema } from '@sinclair/typebox';
import { ValueErrorType } from '@sinclair/typebox/errors';
import { Value } from '@sinclair/typebox/value';

/** One reason a value fails a schema: the dotted key and what was expected there. */
export interface SchemaProblem {
  key: string;
  message: string;
}

/** The first problem of `value` against `schema` (undefined when it is valid), keys relative to `prefix`. */
export function firstProblem(schema: TSchema, value: unknown, prefix = ''): SchemaProblem | undefined {
  const error = Value.Errors(schema, value).First();
  if (error === undefined) return undefined;
  const key = joinKey(prefix, error.path);
  if (error.type === ValueErrorType.ObjectAdditionalProperties) {
    const parent = error.path.slice(0, error.path.lastIndexOf('/'));
    const allowed = Object.keys((schemaAt(schema, parent)?.properties as object | undefined) ?? {});
    return { key, message: `unknown key (allowed: ${allowed.join(', ')})` };
  }
  if (error.type === ValueErrorType.ObjectRequiredProperty) return { key, message: `missing: expected ${expected(error.schema)}` };
  if (error.type === ValueErrorType.Union) {
    const branch = branchFor(error.schema, error.value);
    if (branch === 'discriminator') {
      const name = discriminatorOf(error.schema)!;
      const allowed = (error.schema.anyOf as TSchema[]).map((b) => (b.properties as Record<string, TSchema>)[name]!.const as string);
      return { key: joinKey(key, `/${name}`), message: `expected one of ${allowed.join(', ')}, got ${JSON.stringify((error.value as Record<string, unknown>)[name])}` };
    }
    if (branch) return firstProblem(branch, error.value, key);
  }
  return { key, message: `expected ${expected(error.schema)}, got ${show(error.value)}` };
}

/** A value as it was given: JSON, except the numbers JSON cannot write (NaN, Infinity). */
function show(value: unknown): string {
  return typeof value === 'number' && !Number.isFinite(value) ? String(value) : JSON.stringify(value);
}

function joinKey(prefix: string, pointer: string): string {
  const parts = pointer.split('/').slice(1).map((part) => part.replace(/~1/g, '/').replace(/~0/g, '~'));
  return [prefix, ...parts].filter((part) => part !== '').join('.');
}

function schemaAt(schema: TSchema, pointer: string): TSchema | undefined {
  let node: TSchema | undefined = schema;
  for (const part of pointer.split('/').slice(1)) node = (node?.properties as Record<string, TSchema> | undefined)?.[part] ?? (node?.additionalProperties as TSchema | undefined) ?? (node?.patternProperties ? (Object.values(node.patternProperties as object)[0] as TSchema) : undefined);
  return node;
}

/** The property whose constant tells the branches of a union of mappings apart (`model` of a search space). */
function discriminatorOf(union: TSchema): string | undefined {
  const branches = union.anyOf as TSchema[];
  if (!branches.every((b) => b.type === 'object' && b.properties)) return undefined;
  const first = branches[0]!.properties as Record<string, TSchema>;
  return Object.keys(first).find((name) => branches.every((b) => (b.properties as Record<string, TSchema>)[name]?.const !== undefined));
}

/** The branch of a union that a value meant: by its discriminator, else by its JSON type. */
function branchFor(union: TSchema, value: unknown): TSchema | 'discriminator' | undefined {
  const branches = union.anyOf as TSchema[];
  const discriminator = discriminatorOf(union);
  if (discriminator && typeof value === 'object' && value !== null) {
    const tag = (value as Record<string, unknown>)[discriminator];
    const match = branches.find((b) => (b.properties as Record<string, TSchema>)[discriminator]!.const === tag);
    if (match) return match;
    if (tag !== undefined) return 'discriminator';
    // No tag (a file that changes a few keys of its profile's space): the branch that has those keys.
    const keys = Object.keys(value);
    return branches.find((b) => keys.every((key) => key in (b.properties as object))) ?? branches[0];
  }
  const kind = value === null ? 'null' : Array.isArray(value) ? 'array' : typeof value;
  const candidates = branches.filter((b) => jsonKinds(b).includes(kind));
  return candidates.length === 1 ? candidates[0] : undefined;
}

function jsonKinds(schema: TSchema): string[] {
  if (schema.anyOf) return (schema.anyOf as TSchema[]).flatMap(jsonKinds);
  const type = schema.type as string | undefined;
  return type === 'integer' ? ['number'] : type ? [type] : [];
}

/** What a schema accepts, in words. */
function expected(schema: TSchema): string {
  if (typeof schema.title === 'string') return schema.title;
  if (schema.anyOf) {
    const branches = schema.anyOf as TSchema[];
    if (branches.every((b) => b.const !== undefined)) return `one of ${branches.map((b) => String(b.const)).join(', ')}`;
    return branches.map(expected).join(' or ');
  }
  if (schema.const !== undefined) return JSON.stringify(schema.const);
  switch (schema.type) {
    case 'integer':
    case 'number': {
      const what = schema.type === 'integer' ? 'an integer' : 'a number';
      if (schema.minimum !== undefined && schema.maximum !== undefined) return `${what} in [${String(schema.minimum)}, ${String(schema.maximum)}]`;
      if (schema.exclusiveMinimum !== undefined && schema.maximum !== undefined) return `${what} in (${String(schema.exclusiveMinimum)}, ${String(schema.maximum)}]`;
      if (schema.exclusiveMinimum !== undefined) return `${what} above ${String(schema.exclusiveMinimum)}`;
      return what;
    }
    case 'string':
      return schema.minLength ? 'a non-empty string' : 'a string';
    case 'boolean':
      return 'true or false';
    case 'null':
      return 'null';
    case 'object':
      return 'a mapping';
    case 'array':
      return 'a list';
    default:
      return 'a valid value';
  }
}
