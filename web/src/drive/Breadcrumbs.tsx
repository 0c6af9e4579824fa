import { useI18n } from '../i18n/i18n.js';
import { hrefFor, onLinkClick } from '../router.js';

export function Breadcrumbs({ path }: { path: string }) {
  const { t } = useI18n();
  const segments = path.split('/').filter(Boolean);
  const crumbs = [{ label: t('drive.root'), path: '/' }, ...segments.map((name, i) => ({ label: name, path: `/${segments.slice(0, i + 1).join('/')}` }))];
  return (
    <nav aria-label={t('drive.breadcrumbs')} class="breadcrumbs">
      <ol>
        {crumbs.map((crumb, i) => (
          <li key={crumb.path}>
            {i === crumbs.length - 1 ? (
              <span aria-current="page">{crumb.label}</span>
            ) : (
              <a href={hrefFor({ view: 'drive', path: crumb.path })} onClick={onLinkClick({ view: 'drive', path: crumb.path })}>
                {crumb.label}
              </a>
            )}
          </li>
        ))}
      </ol>
    </nav>
  );
}
