// State of a cursor-paginated, filtered list (the users table and the audit log): the filters,
// and the cursors of the pages seen so far, so that "previous" needs no cursor from the server.
// Any change of a filter or of the sort starts again from the first page, as a cursor is only
// valid with the filters it was made for.

export interface TableState<F> {
  filters: F;
  /** cursors[i] opens page i + 1; cursors[0] is null (the first page). */
  cursors: (string | null)[];
  /** Set by the answer for the current page. */
  nextCursor: string | null;
}

export type TableAction<F> =
  | { type: 'filters'; filters: Partial<F> }
  | { type: 'loaded'; nextCursor: string | null }
  | { type: 'next' }
  | { type: 'previous' }
  | { type: 'first' };

export function initialTable<F>(filters: F): TableState<F> {
  return { filters, cursors: [null], nextCursor: null };
}

export function tableReducer<F>(state: TableState<F>, action: TableAction<F>): TableState<F> {
  switch (action.type) {
    case 'filters': {
      const filters = { ...state.filters, ...action.filters };
      const same = Object.keys(filters as object).every(
        (key) => (filters as Record<string, unknown>)[key] === (state.filters as Record<string, unknown>)[key],
      );
      if (same) return state;
      return { filters, cursors: [null], nextCursor: null };
    }
    case 'loaded':
      return state.nextCursor === action.nextCursor ? state : { ...state, nextCursor: action.nextCursor };
    case 'next':
      if (!state.nextCursor) return state;
      return { ...state, cursors: [...state.cursors, state.nextCursor], nextCursor: null };
    case 'previous':
      if (state.cursors.length <= 1) return state;
      return { ...state, cursors: state.cursors.slice(0, -1), nextCursor: null };
    case 'first':
      return state.cursors.length <= 1 ? state : { ...state, cursors: [null], nextCursor: null };
  }
}

/** The cursor of the page on show (null: the first page). */
export function currentCursor<F>(state: TableState<F>): string | null {
  return state.cursors[state.cursors.length - 1] ?? null;
}

/** 1-based number of the page on show. */
export function pageNumber<F>(state: TableState<F>): number {
  return state.cursors.length;
}
