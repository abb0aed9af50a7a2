import { useSyncExternalStore } from 'react';

/** The pages of the dashboard, addressed by the URL's hash so any static host can serve it. */
export type Route =
  | { readonly page: 'live' }
  | { readonly page: 'incident'; readonly id: string }
  | { readonly page: 'scenarios' }
  | { readonly page: 'metrics' }
  | { readonly page: 'audit' }
  | { readonly page: 'not-found'; readonly path: string };

/**
 * Reads a route off a location hash.
 *
 * @example
 * parseRoute('#/incidents/inc_42'); // { page: 'incident', id: 'inc_42' }
 */
export function parseRoute(hash: string): Route {
  const path = hash.replace(/^#/, '').replace(/\/+$/, '') || '/';
  if (path === '/' || path === '/live') return { page: 'live' };
  if (path === '/scenarios') return { page: 'scenarios' };
  if (path === '/metrics') return { page: 'metrics' };
  if (path === '/audit') return { page: 'audit' };
  const incident = /^\/incidents\/([^/]+)$/.exec(path);
  if (incident?.[1]) return { page: 'incident', id: decodeURIComponent(incident[1]) };
  return { page: 'not-found', path };
}

/** The link to a route, as an `href`. */
export function hrefFor(route: Exclude<Route, { page: 'not-found' }>): string {
  switch (route.page) {
    case 'live':
      return '#/';
    case 'incident':
      return `#/incidents/${encodeURIComponent(route.id)}`;
    default:
      return `#/${route.page}`;
  }
}

const subscribe = (onChange: () => void) => {
  window.addEventListener('hashchange', onChange);
  return () => window.removeEventListener('hashchange', onChange);
};

/** The current route, updated on every hash change (links, back and forward). */
export function useRoute(): Route {
  const hash = useSyncExternalStore(subscribe, () => window.location.hash);
  return parseRoute(hash);
}
