// The machines catalog on disk: load profiles/ and groups/ from machinesDir, validate
// everything (files, fields, group metadata, references, templates) with the domain's
// schemas and return an immutable MachineSet. Any problem throws a ConfigError naming the
// file, the field and what was expected.
import { createHash } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { basename, extname, join, resolve, sep } from 'node:path';
import YAML from 'yaml';
import type { z } from 'zod';
import { ConfigError } from '../errors.ts';
import { moveKernelArguments } from '../machines/kernel-args.ts';
import { canonicalSelector, selectorKey, sortGroups } from '../machines/match.ts';
import { type Group, groupSchema, type MachineSet, type Profile, profileSchema } from '../machines/model.ts';
import { checkSyntax, checkTemplates, type TemplateSources } from './templates.ts';

const EXTENSIONS = new Set(['.yaml', '.yml', '.json']);

export function loadMachines(dir: string): MachineSet {
  const profiles = new Map<string, Profile>();
  const sources = new Map<string, TemplateSources>();
  for (const file of listFiles(join(dir, 'profiles'))) {
    const { profile, templates } = loadProfile(dir, file);
    if (profiles.has(profile.id))
      throw new ConfigError(`${file}: id: duplicate profile id ${JSON.stringify(profile.id)}`, {
        file,
        key: 'id',
      });
    profiles.set(profile.id, profile);
    sources.set(profile.id, templates);
  }
  const files = listFiles(join(dir, 'groups'));
  const groups = files.map((file) => loadGroup(file));
  checkGroups(groups, files, profiles, sources);
  const revision = hash(
    [...profiles.values()]
      .map((p) => p.revision)
      .concat(groups.map((g) => JSON.stringify(g)))
      .join('\n'),
  );
  return Object.freeze({ dir, profiles, groups: Object.freeze(sortGroups(groups)), revision });
}

function listFiles(dir: string): string[] {
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw new ConfigError(`${dir}: cannot read directory (${(err as NodeJS.ErrnoException).code})`, {
      file: dir,
    });
  }
  return names
    .filter((n) => !n.startsWith('.') && EXTENSIONS.has(extname(n)))
    .sort()
    .map((n) => join(dir, n));
}

function readText(file: string): string {
  try {
    return readFileSync(file, 'utf8');
  } catch (err) {
    throw new ConfigError(`${file}: cannot read (${(err as NodeJS.ErrnoException).code ?? err})`, { file });
  }
}

function readData(file: string): { text: string; data: unknown } {
  const text = readText(file);
  try {
    return { text, data: YAML.parse(text, { prettyErrors: true }) };
  } catch (err) {
    throw new ConfigError(`${file}: not valid YAML/JSON: ${(err as Error).message}`, { file });
  }
}

function parseWith<S extends z.ZodType>(schema: S, data: unknown, file: string): z.output<S> {
  const result = schema.safeParse(data, { reportInput: true });
  if (result.success) return result.data;
  const lines = result.error.issues.map((i) => {
    const value = 'input' in i && i.input !== undefined ? ` = ${JSON.stringify(i.input)}` : '';
    return `${file}: ${i.path.join('.') || '(top level)'}${value}: ${i.message}`;
  });
  throw new ConfigError(lines.join('\n'), { file, key: result.error.issues[0]?.path.join('.') });
}

function withDefaultId(data: unknown, file: string): unknown {
  const id = basename(file, extname(file));
  if (data === null || data === undefined) return { id };
  if (typeof data !== 'object' || Array.isArray(data)) return data;
  const obj = data as Record<string, unknown>;
  if (obj['id'] !== undefined && obj['id'] !== id) {
    throw new ConfigError(
      `${file}: id: ${JSON.stringify(obj['id'])} does not match the file name (expected ${JSON.stringify(id)})`,
      { file, key: 'id' },
    );
  }
  return { ...obj, id };
}

function loadProfile(dir: string, file: string): { profile: Profile; templates: TemplateSources } {
  const { text, data } = readData(file);
  const parsed = parseWith(profileSchema, withDefaultId(data, file), file);
  const parts = [text];
  const templates: TemplateSources = { ignition: file };
  let ignitionTemplate: Record<string, unknown> = {};
  if (typeof parsed.ignition === 'string') {
    const templateFile = inside(dir, parsed.ignition, file, 'ignition');
    templates.ignition = templateFile;
    const loaded = readData(templateFile);
    if (!loaded.data || typeof loaded.data !== 'object' || Array.isArray(loaded.data)) {
      throw new ConfigError(
        `${templateFile}: expected an Ignition config object (referenced by ${file} field ignition)`,
        { file: templateFile },
      );
    }
    ignitionTemplate = loaded.data as Record<string, unknown>;
    parts.push(loaded.text);
  } else if (parsed.ignition) {
    ignitionTemplate = parsed.ignition;
  }
  let ipxeTemplateText: string | undefined;
  if (parsed.ipxeTemplate) {
    const templateFile = inside(dir, parsed.ipxeTemplate, file, 'ipxeTemplate');
    templates.ipxeTemplate = templateFile;
    ipxeTemplateText = readText(templateFile); // iPXE script text, not YAML
    if (!ipxeTemplateText.startsWith('#!ipxe')) {
      throw new ConfigError(
        `${templateFile}: an iPXE template must start with "#!ipxe" (referenced by ${file} field ipxeTemplate)`,
        { file: templateFile },
      );
    }
    parts.push(ipxeTemplateText);
  }
  try {
    moveKernelArguments(ignitionTemplate);
  } catch (err) {
    throw new ConfigError(`${file}: ${(err as Error).message}`, { file, key: 'ignition' });
  }
  const profile: Profile = { ...parsed, revision: hash(parts.join('\0')), ignitionTemplate };
  if (ipxeTemplateText !== undefined) profile.ipxeTemplateText = ipxeTemplateText;
  checkSyntax(profile, templates);
  return { profile, templates };
}

/** A template path relative to machinesDir that must stay inside it. */
function inside(dir: string, rel: string, file: string, field: string): string {
  const full = resolve(dir, rel);
  if (!full.startsWith(resolve(dir) + sep)) {
    throw new ConfigError(`${file}: ${field}: ${JSON.stringify(rel)} points outside ${dir}`, {
      file,
      key: field,
    });
  }
  return full;
}

function loadGroup(file: string): Group {
  const parsed = parseWith(groupSchema, withDefaultId(readData(file).data, file), file);
  try {
    return { ...parsed, selector: canonicalSelector(parsed.selector) };
  } catch (err) {
    throw new ConfigError(`${file}: selector.mac: ${(err as Error).message}`, { file, key: 'selector.mac' });
  }
}

function checkGroups(
  groups: Group[],
  files: string[],
  profiles: Map<string, Profile>,
  sources: Map<string, TemplateSources>,
): void {
  const seen = new Map<string, string>();
  for (const [i, g] of groups.entries()) {
    const file = files[i] ?? g.id;
    const profile = profiles.get(g.profile);
    const templates = sources.get(g.profile);
    if (!profile || !templates) {
      const key = g.pool ? 'pool.profile' : 'profile';
      throw new ConfigError(
        `${file}: ${key}: no profile ${JSON.stringify(g.profile)} (known: ${[...profiles.keys()].join(', ') || 'none'})`,
        { file, key },
      );
    }
    const key = selectorKey(g.selector);
    const other = seen.get(key);
    if (other !== undefined) {
      throw new ConfigError(
        `${file}: selector: groups ${JSON.stringify(other)} and ${JSON.stringify(g.id)} have identical selectors {${key}}: matching would be ambiguous`,
        { file, key: 'selector' },
      );
    }
    seen.set(key, g.id);
    checkTemplates(profile, templates, g, file);
  }
}

function hash(text: string): string {
  return createHash('sha256').update(text).digest('hex').slice(0, 16);
}
