import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { exampleRepository } from '../../examples/models.ts';
import { EXAMPLES } from '../helpers/repo.ts';

test('the committed example models are exactly what examples/models.ts builds (run `npm run models` if not)', async () => {
  for (const [rel, bytes] of exampleRepository()) {
    const committed = await readFile(join(EXAMPLES, rel));
    assert.ok(Buffer.from(bytes).equals(committed), `examples/models/${rel} is stale: run npm run models`);
  }
});
