// Which request paths are browser pages: a path is under a page path when it
// is that path or lies below it ("/auth/123" is under "/auth",
// "/authorize" is not).

/** A test for "under one of `pagePaths`", for the paths of one provider. */
export function underPagePaths(pagePaths: readonly string[]): (path: string) => boolean {
  const below = pagePaths.map((page) => `${page}/`);
  return (path) => pagePaths.includes(path) || below.some((prefix) => path.startsWith(prefix));
}
