// jinja2.utils.urlize (3.1): links http(s)://, www. and e-mail addresses in escaped text.
import { htmlEscape } from "./runtime.js";

const HTTP = new RegExp(
  String.raw`^((https?://|www\.)(([\w%-]+\.)+)?([a-z]{2,63}|xn--[\w%]{2,59})|([\w%-]{2,63}\.)+(com|net|int|edu|gov|org|info|mil)|(https?://)((\d{1,3}(\.\d{1,3}){3})|(\[([\da-f]{0,4}:){2}([\da-f]{0,4}:?){1,6}])))(?::\d{1,5})?(?:[/?#]\S*)?$`,
  "i",
);
const EMAIL = /^\S+@\w[\w.-]*\.\w+$/;

function count(s: string, sub: string): number {
  return s.split(sub).length - 1;
}

export function urlize(text: string, trimLimit: number | null, rel: string | null, target: string | null): string {
  const trim = (x: string) => (trimLimit !== null && x.length > trimLimit ? `${x.slice(0, trimLimit)}...` : x);
  const words = htmlEscape(text).split(/(\s+)/);
  const relAttr = rel ? ` rel="${htmlEscape(rel)}"` : "";
  const targetAttr = target ? ` target="${htmlEscape(target)}"` : "";
  return words
    .map((word) => {
      let head = "";
      let middle = word;
      let tail = "";
      const lead = /^([(<]|&lt;)+/.exec(middle);
      if (lead) {
        head = lead[0];
        middle = middle.slice(lead[0].length);
      }
      if ([")", ">", ".", ",", "\n", "&gt;"].some((e) => middle.endsWith(e))) {
        const m = /([)>.,\n]|&gt;)+$/.exec(middle);
        if (m) {
          tail = m[0];
          middle = middle.slice(0, m.index);
        }
      }
      for (const [start, end] of [["(", ")"], ["<", ">"], ["&lt;", "&gt;"]] as const) {
        const startCount = count(middle, start);
        if (startCount <= count(middle, end)) continue;
        for (let i = 0; i < Math.min(startCount, count(tail, end)); i++) {
          const endIndex = tail.indexOf(end) + end.length;
          middle += tail.slice(0, endIndex);
          tail = tail.slice(endIndex);
        }
      }
      if (HTTP.test(middle)) {
        const href = middle.startsWith("https://") || middle.startsWith("http://") ? middle : `https://${middle}`;
        middle = `<a href="${href}"${relAttr}${targetAttr}>${trim(middle)}</a>`;
      } else if (middle.startsWith("mailto:") && EMAIL.test(middle.slice(7))) {
        middle = `<a href="${middle}">${middle.slice(7)}</a>`;
      } else if (middle.includes("@") && !middle.startsWith("www.") && !middle.includes(":") && EMAIL.test(middle)) {
        middle = `<a href="mailto:${middle}">${middle}</a>`;
      }
      return head + middle + tail;
    })
    .join("");
}
