// JSX for server-rendered HTML, as aiwebengine's scripts write it: `.jsx` and `.tsx` files
// turn `<p class="x">{text}</p>` into `h("p", { class: "x" }, text)`, and `h` makes HTML.
// An element is an object `{ __html }` (React's spelling for HTML that is already safe):
// text and attribute values put into one are escaped, elements nested in one are not. A
// handler may return an element (a 200 `text/html` page) or use it as a `body`; `${element}`
// and `String(element)` give the HTML. A script that defines its own `h` or `Fragment` keeps
// them. Evaluated after web.js; escapes as `convert.escape_html` does (the prelude's).
(function (host) {
  "use strict";

  const defineProperty = Object.defineProperty;
  const freeze = Object.freeze;
  const create = Object.create;
  const entries = Object.entries;
  const isArray = Array.isArray;
  const SafeTypeError = TypeError;
  const replace = Function.prototype.call.bind(String.prototype.replace);
  const toLowerCase = Function.prototype.call.bind(String.prototype.toLowerCase);
  const test = Function.prototype.call.bind(RegExp.prototype.test);
  const setHas = Function.prototype.call.bind(Set.prototype.has);
  const stringify = JSON.stringify;

  const escape = host.escapeHtml;
  // Elements whose end tag HTML forbids.
  const voidElements = new Set([
    "area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source", "track", "wbr",
  ]);
  const validName = /^[A-Za-z][A-Za-z0-9:._-]*$/;

  const elementPrototype = create(null, {
    toString: { value() { return this.__html; } },
    toJSON: { value() { return this.__html; } },
  });
  const element = (html) => freeze(create(elementPrototype, { __html: { value: html, enumerable: true } }));
  const isElement = (value) =>
    value !== null && typeof value === "object" && typeof value.__html === "string";

  const appendChildren = (html, child) => {
    if (child === null || child === undefined || child === false || child === true) return html;
    if (isArray(child)) {
      for (const item of child) html = appendChildren(html, item);
      return html;
    }
    return html + (isElement(child) ? child.__html : escape(child));
  };

  // `backgroundColor: "red"` → `background-color:red`.
  const styleText = (style) => {
    let text = "";
    for (const [key, value] of entries(style)) {
      if (value === null || value === undefined || value === false) continue;
      const property = replace(key, /[A-Z]/g, (letter) => "-" + toLowerCase(letter));
      text += `${text ? ";" : ""}${property}:${value}`;
    }
    return text;
  };

  const attributeNames = { className: "class", htmlFor: "for" };

  const attributes = (props) => {
    let text = "";
    for (const [key, value] of entries(props)) {
      if (key === "children" || key === "key" || key === "dangerouslySetInnerHTML") continue;
      if (value === null || value === undefined || value === false || typeof value === "function") continue;
      const name = attributeNames[key] ?? key;
      if (!test(validName, name)) throw new SafeTypeError(`JSX: ${stringify(name)} is not a valid attribute name`);
      if (value === true) {
        text += ` ${name}`;
        continue;
      }
      const shown = name === "style" && typeof value === "object" ? styleText(value) : value;
      text += ` ${name}="${escape(shown)}"`;
    }
    return text;
  };

  function Fragment(props) {
    return element(appendChildren("", props?.children));
  }

  function h(tag, props, ...children) {
    props = props ?? {};
    if (typeof tag === "function") {
      const given = children.length === 0 ? props.children : children.length === 1 ? children[0] : children;
      const result = tag({ ...props, children: given });
      return isElement(result) ? result : element(appendChildren("", result));
    }
    if (typeof tag !== "string" || !test(validName, tag)) {
      throw new SafeTypeError(`JSX: ${stringify(String(tag))} is not a valid tag name`);
    }
    let html = `<${tag}${attributes(props)}>`;
    if (setHas(voidElements, toLowerCase(tag))) return element(html);
    const inner = props.dangerouslySetInnerHTML;
    if (inner !== undefined && inner !== null) {
      html += String(inner.__html ?? "");
    } else {
      html = appendChildren(html, children.length === 0 ? props.children : children);
    }
    return element(`${html}</${tag}>`);
  }

  for (const [name, value] of entries({ h, Fragment })) {
    defineProperty(globalThis, name, { value, writable: true, configurable: true, enumerable: false });
  }
});
