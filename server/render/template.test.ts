import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { missingNames, render, templateNames } from './template.ts';

test('render does not HTML-escape', () => {
  assert.is(render('a={{v}}', { v: '<&>"' }), 'a=<&>"');
});

test('templateNames finds names in sections and dotted paths', () => {
  assert.equal(templateNames('{{a}} {{#list}}{{.}}{{b.c}}{{/list}} {{^d}}x{{/d}} {{&e}}').sort(), [
    '.',
    'a',
    'b.c',
    'd',
    'e',
    'list',
  ]);
});

test('missingNames reports names the view lacks', () => {
  assert.equal(
    missingNames('{{mac}} {{metadata.rack}} {{metadata.row}}', { mac: 'x', metadata: { rack: 'r1' } }),
    ['metadata.row'],
  );
});

test.run();
