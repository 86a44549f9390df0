// While MathJax typesets a page's formulas (seconds, on a slow machine a minute), a note
// at the top of the page says so and counts them, and the formulas not typeset yet are
// faint (course.css). MathJax calls courseTypeset.progress and courseTypeset.done
// (the hooks course_site.py gives its configuration).
(function () {
  const root = document.documentElement;
  root.classList.add("course-typesetting");
  let total = 0, typeset = 0, note = null, finished = false;

  function say() {
    if (note) note.textContent = `Typesetting the formulas: ${typeset} of ${total}\u2026`;
  }

  window.courseTypeset = {
    progress() { typeset += 1; say(); },
    done() {
      finished = true;
      root.classList.remove("course-typesetting");
      if (note) note.remove();
    },
  };

  document.addEventListener("DOMContentLoaded", () => {
    total = document.querySelectorAll(".math").length;
    if (!total || finished) {
      window.courseTypeset.done();
      return;
    }
    note = document.createElement("div");
    note.id = "course-typesetting";
    note.setAttribute("role", "status");
    document.body.appendChild(note);
    say();
  });
})();
