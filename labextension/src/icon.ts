import { LabIcon } from '@jupyterlab/ui-components';

const svgstr = `<svg xmlns="http://www.w3.org/2000/svg" width="16" height="16" viewBox="0 0 24 24">
  <g class="jp-icon3" fill="#616161">
    <rect x="3" y="4" width="18" height="3" rx="1"/>
    <rect x="3" y="10.5" width="12" height="3" rx="1"/>
    <rect x="3" y="17" width="7" height="3" rx="1"/>
    <path d="M17 12.5l4 4-4 4v-2.7h-4v-2.6h4z"/>
  </g>
</svg>`;

/** The Features panel's sidebar icon: rows of features flowing out to a store. */
export const featuresIcon = new LabIcon({ name: 'nb2feast:features', svgstr });
