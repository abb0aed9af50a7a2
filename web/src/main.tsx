import { QueryClientProvider } from '@tanstack/react-query';
import { StrictMode } from 'react';
import { createRoot } from 'react-dom/client';
import { App } from './app.js';
import { AdminTokenProvider } from './features/admin/admin-token.js';
import { createQueryClient } from './lib/query-client.js';
import './index.css';

const container = document.getElementById('root');
if (!container) {
  // index.html and this file ship together; a missing mount point is a broken build.
  throw new Error('Mount point #root is missing from index.html');
}

createRoot(container).render(
  <StrictMode>
    <QueryClientProvider client={createQueryClient()}>
      <AdminTokenProvider>
        <App />
      </AdminTokenProvider>
    </QueryClientProvider>
  </StrictMode>,
);
