import { act, cleanup, render, screen } from '@testing-library/react';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { useCooldown } from './verification';

function Countdown({ until }: { until: number }) {
  const { remaining, start } = useCooldown(until);
  return (
    <>
      <output>{remaining}</output>
      <button type="button" onClick={() => start(2)}>
        start
      </button>
    </>
  );
}

afterEach(() => {
  cleanup();
  vi.useRealTimers();
});

describe('useCooldown', () => {
  it('counts down once a second to zero and can be started again', () => {
    vi.useFakeTimers();
    vi.setSystemTime(new Date('2026-12-01T00:00:00Z'));
    render(<Countdown until={Date.now() + 3000} />);
    const value = () => screen.getByRole('status').textContent;
    expect(value()).toBe('3');

    act(() => vi.advanceTimersByTime(1000));
    expect(value()).toBe('2');
    act(() => vi.advanceTimersByTime(5000));
    expect(value()).toBe('0');
    expect(vi.getTimerCount()).toBe(0);

    act(() => screen.getByRole('button', { name: 'start' }).click());
    expect(value()).toBe('2');
    act(() => vi.advanceTimersByTime(2000));
    expect(value()).toBe('0');
  });

  it('is zero when the time is already past', () => {
    render(<Countdown until={Date.now() - 1000} />);
    expect(screen.getByRole('status').textContent).toBe('0');
  });
});
