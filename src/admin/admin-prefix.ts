// Where the Admin API lives: one constant for the mount (admin-api.ts), the
// router and the Location headers of the routes.
export const ADMIN_PREFIX = '/admin/v1';
