/**
 * A coarse, privacy-respecting description of a client from its User-Agent:
 * a browser family and an OS family ("Chrome on Android"), never versions or
 * device models, at most 40 characters. Null when nothing is recognised.
 */
export function describeClient(userAgent: string | undefined): string | null {
  const ua = (userAgent ?? "").slice(0, 512);
  if (ua === "") return null;
  const browser = /Edg\//.test(ua)
    ? "Edge"
    : /Firefox\//.test(ua)
      ? "Firefox"
      : /Chrome\/|CriOS\//.test(ua)
        ? "Chrome"
        : /Safari\//.test(ua)
          ? "Safari"
          : /okhttp/i.test(ua)
            ? "Android app"
            : /CFNetwork|Darwin/.test(ua)
              ? "iOS app"
              : /^curl\//.test(ua)
                ? "curl"
                : undefined;
  const os = /Android/.test(ua)
    ? "Android"
    : /iPhone|iPad|iOS/.test(ua)
      ? "iOS"
      : /Windows/.test(ua)
        ? "Windows"
        : /Mac OS X|Macintosh/.test(ua)
          ? "macOS"
          : /CrOS/.test(ua)
            ? "ChromeOS"
            : /Linux/.test(ua)
              ? "Linux"
              : undefined;
  if (!browser && !os) return "Other";
  return [browser, os].filter(Boolean).join(" on ").slice(0, 40);
}
