// /device/:uid is where oidc-provider hands a device sign-in back after the
// interaction, and only then, with its resume cookie. Reached any other way
// (a guessed or stale link, a scanner, the fuzz test's GET /device/auth) it
// cannot succeed, and oidc-provider 9.13 answers it with a 500: its error
// handler writes an xsrf secret into the fresh session the route never saved,
// then its session save refuses a session that was never persisted
// (lib/shared/error_handler.js, lib/helpers/initialize_app.js). A request
// without the signed resume cookie of its own uid is sent to the code entry
// page instead, before the library sees it.
import type { Provider } from 'oidc-provider';

export function guardDeviceResume(provider: Provider): void {
  const below = `${provider.pathFor('code_verification')}/`;
  const resumeCookie = provider.cookieName('resume');
  provider.use((ctx, next) => {
    if (!ctx.path.startsWith(below) || (ctx.method !== 'GET' && ctx.method !== 'HEAD')) return next();
    // The cookie oidc-provider signed for this very interaction (its value is the uid), as resume.js checks it.
    const uid = ctx.path.slice(below.length).replace(/\/$/, '');
    if (uid && ctx.cookies.get(resumeCookie, { signed: true }) === uid) return next();
    ctx.status = 303;
    ctx.redirect(provider.pathFor('code_verification'));
    return undefined;
  });
}
