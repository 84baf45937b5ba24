// A profile's templates, checked at load: each parses as mustache, and for every group that
// uses the profile, names only variables a machine of that group will have (the machine
// view's keys and the group's metadata keys; render/views.ts). A failure is a ConfigError
// naming the template's file and the profile field, so nothing is found out at boot time.
import { ConfigError } from '../errors.ts';
import type { Group, Profile } from '../machines/model.ts';
import { missingNames, templateNames } from '../render/template.ts';
import { sampleView } from '../render/views.ts';

/** Where each of a profile's templates was read from: the profile file itself for inline Ignition. */
export interface TemplateSources {
  ignition: string;
  ipxeTemplate?: string;
}

type Field = keyof TemplateSources;

function texts(
  profile: Profile,
  sources: TemplateSources,
): Array<{ field: Field; file: string; text: string }> {
  const out: Array<{ field: Field; file: string; text: string }> = [
    { field: 'ignition', file: sources.ignition, text: JSON.stringify(profile.ignitionTemplate) },
  ];
  if (profile.ipxeTemplateText !== undefined && sources.ipxeTemplate)
    out.push({ field: 'ipxeTemplate', file: sources.ipxeTemplate, text: profile.ipxeTemplateText });
  return out;
}

/** Every template of the profile parses (unclosed tags, bad delimiters fail here). */
export function checkSyntax(profile: Profile, sources: TemplateSources): void {
  for (const { field, file, text } of texts(profile, sources)) {
    try {
      templateNames(text);
    } catch (err) {
      throw new ConfigError(
        `${file}: ${field}: not a valid mustache template: ${(err as Error).message} (expected {{name}}, {{#section}}…{{/section}})`,
        { file, key: field },
      );
    }
  }
}

/** The profile's templates name only what a machine of `group` (read from `groupFile`) will have. */
export function checkTemplates(
  profile: Profile,
  sources: TemplateSources,
  group: Group,
  groupFile: string,
): void {
  const view = sampleView(group.metadata);
  for (const { field, file, text } of texts(profile, sources)) {
    const missing = missingNames(text, view);
    if (missing.length === 0) continue;
    const keys = Object.keys(group.metadata);
    throw new ConfigError(
      `${file}: ${field}: profile ${JSON.stringify(profile.id)}'s templates use undefined variables: ${missing.join(', ')} ` +
        `(used by group ${JSON.stringify(group.id)}, ${groupFile}; expected the machine's variables ` +
        `or a key of that group's metadata: ${keys.length > 0 ? keys.join(', ') : 'none'})`,
      { file, key: field },
    );
  }
}
