import { describe, expect, test } from "bun:test";
import { PublicUrls } from "./public-urls";

const urls = (s: Partial<{ publicUrl: string; appsPublicUrl: string; appsDomain: string }>, appsUrl: string | null = null) => {
  const u = new PublicUrls({ publicUrl: "", appsPublicUrl: "", appsDomain: "", ...s });
  u.listening({ mainUrl: "http://127.0.0.1:7878", appsUrl });
  return u;
};

describe("PublicUrls", () => {
  test("default: apps under the platform's origin", () => {
    const u = urls({});
    expect(u.base).toBe("http://127.0.0.1:7878");
    expect(u.app("shop")).toBe("http://127.0.0.1:7878/apps/shop/");
  });
  test("CANTRIP_PUBLIC_URL moves both", () => {
    const u = urls({ publicUrl: "https://cantrip.example.com/" });
    expect(u.base).toBe("https://cantrip.example.com");
    expect(u.app("shop")).toBe("https://cantrip.example.com/apps/shop/");
  });
  test("an apps listener gives apps its origin", () => {
    expect(urls({}, "http://127.0.0.1:7879").app("shop")).toBe("http://127.0.0.1:7879/apps/shop/");
  });
  test("an apps domain gives each app its own host, scheme and port from the public URL or the listener", () => {
    expect(urls({ appsDomain: "apps.test" }, "http://127.0.0.1:7879").app("shop")).toBe("http://shop.apps.test:7879/");
    expect(urls({ appsDomain: "apps.test" }).app("shop")).toBe("http://shop.apps.test:7878/");
    expect(urls({ appsDomain: "apps.example.com", publicUrl: "https://cantrip.example.com" }).app("shop")).toBe("https://shop.apps.example.com/");
  });
  test("CANTRIP_APPS_PUBLIC_URL wins, with or without {slug}", () => {
    expect(urls({ appsPublicUrl: "https://{slug}.apps.example.com/", appsDomain: "x.test" }, "http://127.0.0.1:7879").app("shop")).toBe("https://shop.apps.example.com/");
    expect(urls({ appsPublicUrl: "https://apps.example.com" }).app("shop")).toBe("https://apps.example.com/apps/shop/");
  });
});
