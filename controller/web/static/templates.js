// Notice and alert templates: pick one, fill each blank, and the text field gets the text with
// the blanks filled, to read over and change before sending. The templates come from the page.
"use strict";
(function () {
  for (const picker of document.querySelectorAll("[data-template-picker]")) {
    const templates = JSON.parse(picker.querySelector("[data-templates]").textContent);
    const choice = picker.querySelector("[data-template-choice]");
    const blanks = picker.querySelector("[data-blanks]");
    const error = picker.querySelector("[data-template-error]");
    const target = document.getElementById(picker.dataset.target);
    const chosen = () => templates.find((t) => String(t.id) === choice.value);
    const say = (text, field) => {
      error.textContent = text;
      error.hidden = false;
      if (field) { field.setAttribute("aria-invalid", "true"); field.focus(); }
    };

    choice.addEventListener("change", () => {
      blanks.replaceChildren();
      error.hidden = true;
      const template = chosen();
      if (!template) return;
      template.blanks.forEach((label, i) => {
        const id = `${picker.dataset.target}-blank-${i}`;
        const name = document.createElement("label");
        name.htmlFor = id;
        name.textContent = label;
        const input = document.createElement("input");
        input.id = id;
        input.dataset.blank = label;
        blanks.append(name, input);
      });
    });

    picker.querySelector("[data-template-fill]").addEventListener("click", () => {
      error.hidden = true;
      const template = chosen();
      if (!template) { say(picker.dataset.choose, choice); return; }
      const values = {};
      for (const input of blanks.querySelectorAll("input")) {
        input.removeAttribute("aria-invalid");
        const value = input.value.trim().replace(/\s+/g, " ");
        if (!value) { say(picker.dataset.missing.replace("{label}", input.dataset.blank), input); return; }
        values[input.dataset.blank] = value;
      }
      target.value = template.body.replace(/\{([^{}]*)\}/g, (all, label) => values[label.trim()] ?? all);
      target.dispatchEvent(new Event("input", { bubbles: true }));  // kept like typed text
      target.focus();
    });
  }
})();
