import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseDuration, formatDuration } from '../../common/duration.ts';

test('durations parse the units Prometheus accepts', () => {
  const table: [string, number | undefined][] = [
    ['250ms', 250],
    ['5m', 300_000],
    ['1h30m', 5_400_000],
    ['30d', 2_592_000_000],
    ['1.5s', 1500],
    ['5', undefined],
    ['5 minutes', undefined],
    ['', undefined],
  ];
  for (const [text, ms] of table) assert.equal(parseDuration(text), ms, text);
});

test('durations format as the shortest Prometheus duration and read back the same', () => {
  for (const ms of [250, 300_000, 5_400_000, 2_592_000_000, 86_400_000 + 1000]) {
    assert.equal(parseDuration(formatDuration(ms)), ms);
  }
  assert.equal(formatDuration(3_600_000), '1h');
});
