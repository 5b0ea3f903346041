import { startPage } from '/static/common/page.js';

await startPage();
