import type { HandleClientError } from "@sveltejs/kit";
import { ApiRequestError } from "$lib/api";

/** Keeps the API's error code on `page.error`, so the error page can say what failed. */
export const handleError: HandleClientError = ({ error, message }) => {
  if (error instanceof ApiRequestError) return { message: error.message, code: error.code };
  return { message };
};
