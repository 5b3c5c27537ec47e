/**
 * Where a community's Durable Objects live (docs/deploy.md "Global reads"): the region of the
 * member who creates it, as a location hint on the objects' first creation. Cloudflare would
 * otherwise place an object near whatever first touches it; with the hint that is always the
 * creator's region, not a webhook's or a scheduled job's. Hints apply only when an object is
 * created; later requests from anywhere reach it where it is.
 */

/** What the request's `cf` object tells about where the member is. */
export interface ClientPlace {
  continent?: string;
  country?: string;
  /** Degrees, east positive (a string in `cf`). */
  longitude?: string | number;
}

const MIDDLE_EAST = new Set(["AE", "BH", "IL", "IQ", "IR", "JO", "KW", "LB", "OM", "PS", "QA", "SA", "SY", "TR", "YE"]);

/** The location hint for a member at `place`, or undefined when `cf` says nothing (local development). */
export function locationHintFor(place: ClientPlace | undefined): DurableObjectLocationHint | undefined {
  if (!place?.continent) return undefined;
  const lon = Number(place.longitude);
  if (place.country && MIDDLE_EAST.has(place.country)) return "me";
  switch (place.continent) {
    case "NA":
      return Number.isFinite(lon) && lon < -100 ? "wnam" : "enam";
    case "SA":
      return "sam";
    case "EU":
      return Number.isFinite(lon) && lon >= 20 ? "eeur" : "weur";
    case "AF":
      return "afr";
    case "AS":
      return "apac";
    case "OC":
      return "oc";
    default:
      return undefined;
  }
}

/** The hint for the member making `req`. */
export function hintForRequest(req: Request): DurableObjectLocationHint | undefined {
  return locationHintFor((req as Request & { cf?: ClientPlace }).cf);
}
