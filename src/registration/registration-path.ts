// Where dynamic client registration is served (RFC 7591's registration
// endpoint; each client's RFC 7592 configuration endpoint is below it).
export const REGISTRATION_PATH = '/reg';
