// The dashboard's templates escape whatever they are given: text from Telegram never becomes markup.
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { html, raw } from "../../src/dashboard/html.ts";
import { taskItem } from "../../src/dashboard/views/tasks.ts";

describe("dashboard html", () => {
  it("escapes interpolated values, nested templates stay markup, raw is taken as is", () => {
    const evil = `<script>alert("x")</script>' onmouseover='y`;
    assert.equal(
      html`<p title="${evil}">${evil}</p>`.value,
      `<p title="&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;&#39; onmouseover=&#39;y">&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;&#39; onmouseover=&#39;y</p>`,
    );
    assert.equal(html`<ul>${["a&b", html`<li>x</li>`]}</ul>`.value, "<ul>a&amp;b<li>x</li></ul>");
    assert.equal(html`${raw("<svg></svg>")}${null}${undefined}${false}${0}`.value, "<svg></svg>0");
  });

  it("a task row shows a hostile title as text", () => {
    const row = taskItem(
      {
        id: 1,
        codigo: "T-AAAA",
        usuario_id: 1,
        plugin_id: 1,
        tipo: "telegram",
        titulo: "<img src=x onerror=alert(1)>",
        estado: "queued",
        metadatos_extra: {},
        created_at: new Date(0).toISOString(),
      },
      "@b<ot>",
    );
    assert.ok(!row.value.includes("<img"));
    assert.match(row.value, /&lt;img src=x onerror=alert\(1\)&gt;/);
    assert.match(row.value, /@b&lt;ot&gt;/);
  });
});
