import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { addDays, dateIn, isCalendarDate } from './calendar.ts';

describe('calendar', () => {
  test("today is the institution's date, not UTC's", () => {
    const lateEveningInNewYork = Date.parse('2026-11-29T03:30:00Z');
    assert.equal(dateIn('UTC', lateEveningInNewYork), '2026-11-29');
    assert.equal(dateIn('America/New_York', lateEveningInNewYork), '2026-11-28');
    assert.equal(dateIn('Asia/Tokyo', Date.parse('2026-11-28T16:00:00Z')), '2026-11-29');
  });

  test('adds days across month and year ends', () => {
    assert.equal(addDays('2026-12-31', 1), '2027-01-01');
    assert.equal(addDays('2028-03-01', -1), '2028-02-29');
  });

  test('accepts only real calendar dates', () => {
    assert.equal(isCalendarDate('2026-02-28'), true);
    assert.equal(isCalendarDate('2026-02-30'), false);
    assert.equal(isCalendarDate('2026-2-3'), false);
  });
});
