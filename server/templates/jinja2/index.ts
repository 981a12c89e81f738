// Jinja2 (3.x semantics over Python values), behind the TemplateEngine interface.
export { Jinja2Engine, type Jinja2Options } from "./engine.js";
