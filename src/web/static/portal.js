// Developer portal: copy buttons for secrets shown once. Everything works without this file.
document.addEventListener('DOMContentLoaded', () => {
  if (!navigator.clipboard) return;
  for (const button of document.querySelectorAll('button.copy-button[data-copy-target]')) {
    const target = document.getElementById(button.getAttribute('data-copy-target'));
    if (!target) continue;
    button.hidden = false;
    button.addEventListener('click', async () => {
      try {
        await navigator.clipboard.writeText(target.textContent.trim());
        button.setAttribute('data-copied', 'true');
        button.textContent = 'Copied';
      } catch {
        button.textContent = 'Select and copy';
      }
    });
  }
});
