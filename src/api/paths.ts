// The API's base path, in a module of its own so every route group can import it without a cycle.
export const API_PREFIX_PATH = "/api/v1";
