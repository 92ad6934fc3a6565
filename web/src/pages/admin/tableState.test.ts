import { describe, expect, it } from 'vitest';
import { currentCursor, initialTable, pageNumber, tableReducer, type TableState } from './tableState';

type F = { q: string; sort: string };
const start = (): TableState<F> => initialTable<F>({ q: '', sort: 'created_at' });

describe('table state', () => {
  it('pages forward with the server cursor and back without asking for one', () => {
    let s = start();
    expect(currentCursor(s)).toBeNull();
    expect(tableReducer(s, { type: 'next' })).toBe(s); // no next page known yet
    s = tableReducer(s, { type: 'loaded', nextCursor: 'c2' });
    s = tableReducer(s, { type: 'next' });
    expect(currentCursor(s)).toBe('c2');
    expect(pageNumber(s)).toBe(2);
    expect(s.nextCursor).toBeNull();
    s = tableReducer(s, { type: 'loaded', nextCursor: 'c3' });
    s = tableReducer(s, { type: 'next' });
    expect(pageNumber(s)).toBe(3);
    s = tableReducer(s, { type: 'previous' });
    expect(currentCursor(s)).toBe('c2');
    s = tableReducer(s, { type: 'previous' });
    expect(currentCursor(s)).toBeNull();
    expect(tableReducer(s, { type: 'previous' })).toBe(s);
  });

  it('starts from the first page when a filter or the sort changes, and not when nothing changes', () => {
    let s = tableReducer(start(), { type: 'loaded', nextCursor: 'c2' });
    s = tableReducer(s, { type: 'next' });
    expect(tableReducer(s, { type: 'filters', filters: { q: '' } })).toBe(s);
    const searched = tableReducer(s, { type: 'filters', filters: { q: 'kim' } });
    expect(searched.filters).toEqual({ q: 'kim', sort: 'created_at' });
    expect(currentCursor(searched)).toBeNull();
    expect(pageNumber(searched)).toBe(1);
    const sorted = tableReducer(s, { type: 'filters', filters: { sort: '-email' } });
    expect(currentCursor(sorted)).toBeNull();
    expect(sorted.filters.q).toBe('');
  });

  it('goes back to the first page', () => {
    let s = tableReducer(start(), { type: 'loaded', nextCursor: 'c2' });
    s = tableReducer(s, { type: 'next' });
    s = tableReducer(s, { type: 'first' });
    expect(pageNumber(s)).toBe(1);
  });
});
