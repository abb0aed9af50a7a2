import { StrictMode } from 'react';
import { createRoot } from 'react-dom/client';
import { App } from './app.js';
import './index.css';

const container = document.getElementById('root');
if (!container) {
  // index.html and this file ship together; a missing mount point is a broken build.
  throw new Error('Mount point #root is missing from index.html');
}

createRoot(container).render(
  <StrictMode>
    <App />
  </StrictMode>,
);
