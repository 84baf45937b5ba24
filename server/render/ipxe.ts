// iPXE scripts: templates compiled (read and checked) once at startup, rendered per
// request. Values that could inject iPXE syntax (newlines, `${`, whitespace in a URL) are
// refused, never rendered.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ConfigError, InvalidRequestError } from '../errors.ts';
import { PACKAGE_ROOT } from '../package-root.ts';
import { missingNames, render } from './template.ts';
import { type MachineView, sampleView } from './views.ts';

const TEMPLATE_DIR = join(PACKAGE_ROOT, 'assets/templates');
const NAMES = ['boot', 'install', 'sanboot', 'exit', 'message'] as const;
type TemplateName = (typeof NAMES)[number];

export interface InstallView extends MachineView {
  kernelUrl: string;
  initrdUrl: string;
  installerUrl: string;
  kernelArgs: string[];
}

export interface MessageView {
  title: string;
  lines: string[];
  retrySeconds: number;
  publicUrl: string;
}

export class IpxeRenderer {
  readonly #templates: Record<TemplateName, string>;

  constructor(dir: string = TEMPLATE_DIR) {
    const templates = {} as Record<TemplateName, string>;
    for (const name of NAMES) templates[name] = readFileSync(join(dir, `${name}.ipxe.mustache`), 'utf8');
    this.#templates = templates;
    this.#check();
  }

  #check(): void {
    const machine = { ...sampleView({}), kernelArgs: ['x'] };
    const views: Record<TemplateName, Record<string, unknown>> = {
      boot: { publicUrl: 'x' },
      install: machine,
      sanboot: machine,
      exit: machine,
      message: { title: 'x', lines: ['x'], retrySeconds: 1, publicUrl: 'x' },
    };
    for (const name of NAMES) {
      const missing = missingNames(this.#templates[name], views[name]);
      if (missing.length > 0)
        throw new ConfigError(
          `template ${name}.ipxe.mustache uses undefined variables: ${missing.join(', ')}`,
        );
    }
  }

  boot(publicUrl: string): string {
    return this.#render('boot', { publicUrl });
  }

  install(view: InstallView, customTemplate?: string): string {
    return customTemplate ? renderSafe(customTemplate, view) : this.#render('install', view);
  }

  localBoot(mode: 'sanboot' | 'exit', view: MachineView): string {
    return this.#render(mode, view);
  }

  message(view: MessageView): string {
    return this.#render('message', view as unknown as Record<string, unknown>);
  }

  #render(name: TemplateName, view: Record<string, unknown>): string {
    return renderSafe(this.#templates[name], view);
  }
}

function renderSafe(template: string, view: Record<string, unknown>): string {
  assertSafe(view, '');
  const missing = missingNames(template, view);
  if (missing.length > 0)
    throw new InvalidRequestError(`iPXE template needs values this machine lacks: ${missing.join(', ')}`);
  return render(template, view);
}

/** Refuse values that would change the script's structure. */
function assertSafe(value: unknown, path: string): void {
  if (typeof value === 'string') {
    if (/[\r\n]/.test(value) || value.includes('${')) {
      throw new InvalidRequestError(`unsafe value for ${path} in an iPXE script: ${JSON.stringify(value)}`);
    }
    if (/url$/i.test(path) && /\s/.test(value))
      throw new InvalidRequestError(`whitespace in URL ${path}: ${JSON.stringify(value)}`);
    return;
  }
  if (Array.isArray(value)) {
    for (const [i, v] of value.entries()) assertSafe(v, `${path}[${i}]`);
  } else if (value && typeof value === 'object') {
    for (const [k, v] of Object.entries(value)) assertSafe(v, path ? `${path}.${k}` : k);
  }
}
