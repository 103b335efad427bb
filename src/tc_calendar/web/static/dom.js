// Building DOM nodes without innerHTML: every piece of event data becomes a text node or an attribute value,
// so a meeting titled "<img onerror=...>" shows those characters and runs nothing.

/**
 * Create an element. attrs: class, dataset, style (an object of CSS properties, set through the CSSOM: the page's
 * Content-Security-Policy refuses style attributes), on<event> handlers, booleans, or plain attributes.
 */
export function h(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs)) {
    if (value === null || value === undefined || value === false) continue;
    if (name === 'class') node.className = value;
    else if (name === 'dataset') Object.assign(node.dataset, value);
    else if (name === 'style') for (const [property, text] of Object.entries(value)) node.style.setProperty(property, text);
    else if (name.startsWith('on') && typeof value === 'function') node.addEventListener(name.slice(2), value);
    else node.setAttribute(name, value === true ? '' : String(value));
  }
  append(node, children);
  return node;
}

function append(node, children) {
  for (const child of children.flat(Infinity)) {
    if (child === null || child === undefined || child === false) continue;
    node.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
}

/** Replace all children of node. */
export function replaceChildren(node, ...children) {
  node.replaceChildren();
  append(node, children);
}

/**
 * The conference link only if it is a web or trueconf: URL: a link from a meeting body must never become a
 * javascript: URL in our page.
 */
export function safeUrl(text) {
  try {
    const url = new URL(text);
    return ['https:', 'http:', 'trueconf:'].includes(url.protocol) ? url.href : null;
  } catch {
    return null;
  }
}
