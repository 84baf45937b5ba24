import { mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { tempDir } from '../testing/fixtures.ts';
import { UI_DIR, UiTemplates } from './templates.ts';

test('the shipped templates never use unescaped output', () => {
  for (const file of readdirSync(UI_DIR).filter((f) => f.endsWith('.mustache'))) {
    assert.not.match(readFileSync(join(UI_DIR, file), 'utf8'), /\{\{\{|\{\{\s*&/, file);
  }
  assert.match(
    new UiTemplates().render('page-message', { title: '<b>', message: 'x' }),
    '<h1>&lt;b&gt;</h1>',
  );
});

test('a template with unescaped output or a syntax error stops startup', () => {
  for (const text of ['<p>{{{hostname}}}</p>', '<p>{{& hostname}}</p>', '<p>{{#open}}</p>']) {
    const { dir, cleanup } = tempDir();
    try {
      mkdirSync(join(dir, 'static'));
      writeFileSync(join(dir, 'bad.mustache'), text);
      assert.throws(() => new UiTemplates(dir));
    } finally {
      cleanup();
    }
  }
});

test.run();
