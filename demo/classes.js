// classes.js - the top-5 list: one button per class, with its probability.

// ImageNet names use underscores ("tiger_cat"); classes without a name show their index.
export function prettyLabel(label, index) {
  return (label ?? `class ${index}`).replaceAll('_', ' ');
}

function span(className, text) {
  const element = document.createElement('span');
  element.className = className;
  element.textContent = text;
  return element;
}

// top5: [{ index, label, score }] -> <li data-class-index data-probability><button>...</button></li>
export function top5Items(top5, onChoose) {
  return top5.map(({ index, label, score }) => {
    const item = document.createElement('li');
    item.dataset.classIndex = String(index);
    item.dataset.probability = String(score);
    const button = document.createElement('button');
    button.type = 'button';
    button.className = 'class-choice';
    const bar = span('bar', '');
    bar.style.setProperty('--share', String(score));
    button.append(span('label', prettyLabel(label, index)), span('percent', `${(score * 100).toFixed(1)} %`), bar);
    button.addEventListener('click', () => onChoose(index));
    item.append(button);
    return item;
  });
}

// Marks the chosen class's button as pressed.
export function markChosen(list, index) {
  for (const item of list.children) {
    item.querySelector('button').setAttribute('aria-pressed', String(Number(item.dataset.classIndex) === index));
  }
}
