// Categories, tags and share limits: the qBittorrent API's own labels on a user's tasks.
import { AppError } from '../errors.js';
import type { QbtLabels } from './qbt.repo.js';
import type { QbtTasks, QbtServiceDeps } from './qbt-tasks.js';

/** A category or tag name qBittorrent would take: no empty name, no line breaks; a tag without commas. */
export function checkLabel(name: string, what: 'category' | 'tag'): string {
  const trimmed = name.trim();
  if (trimmed === '' || /[\r\n]/.test(trimmed) || (what === 'tag' && trimmed.includes(',')) || trimmed.length > 255)
    throw new AppError('BAD_REQUEST', `Invalid ${what} name "${name}".`);
  if (what === 'category' && (trimmed.startsWith('/') || trimmed.endsWith('/') || trimmed.includes('//')))
    throw new AppError('BAD_REQUEST', `Invalid category name "${name}".`);
  return trimmed;
}

/** A `tags` field: comma-separated names. */
export function splitTags(field: string | undefined): string[] {
  if (field === undefined) return [];
  return [...new Set(field.split(',').map((t) => t.trim()))].filter((t) => t !== '');
}

export function joinTags(tags: Iterable<string>): string {
  return [...new Set(tags)].sort().join(', ');
}

export function labelTags(labels: QbtLabels | undefined): string[] {
  return splitTags(labels?.tags);
}

export class QbtLabelsPart {
  private readonly d: QbtServiceDeps;

  constructor(private readonly tasks: QbtTasks) {
    this.d = tasks.d;
  }

  async categories(userId: number): Promise<Record<string, { name: string; savePath: string }>> {
    const out: Record<string, { name: string; savePath: string }> = {};
    for (const [name, savePath] of await this.d.repo.categories(userId)) out[name] = { name, savePath };
    return out;
  }

  async createCategory(userId: number, name: string, savePath: string): Promise<void> {
    const category = checkLabel(name, 'category');
    if (!(await this.d.repo.createCategory(userId, category, savePath.trim()))) throw new AppError('CATEGORY_EXISTS', `Category "${category}" exists already.`);
  }

  async editCategory(userId: number, name: string, savePath: string): Promise<void> {
    if (!(await this.d.repo.editCategory(userId, name, savePath.trim()))) throw new AppError('CATEGORY_NOT_FOUND', `Category "${name}" does not exist.`);
  }

  async removeCategories(userId: number, names: string[]): Promise<void> {
    await this.d.repo.removeCategories(userId, names.map((n) => n.trim()).filter(Boolean));
  }

  async setCategory(userId: number, hashes: string, category: string): Promise<void> {
    const name = category.trim();
    if (name !== '' && !(await this.d.repo.categories(userId)).has(name)) throw new AppError('CATEGORY_NOT_FOUND', `Category "${name}" does not exist.`);
    const tasks = await this.tasks.tasksOf(userId, hashes);
    await this.d.repo.setLabels(
      userId,
      tasks.map((t) => t.taskId),
      { category: name },
    );
  }

  tags(userId: number): Promise<string[]> {
    return this.d.repo.tags(userId);
  }

  async createTags(userId: number, tags: string[]): Promise<void> {
    await this.d.repo.createTags(
      userId,
      tags.map((t) => checkLabel(t, 'tag')),
    );
  }

  async deleteTags(userId: number, tags: string[]): Promise<void> {
    await this.d.repo.deleteTags(userId, tags);
    const labels = await this.d.repo.labels(userId);
    for (const [taskId, l] of labels) {
      const left = labelTags(l).filter((t) => !tags.includes(t));
      if (left.length !== labelTags(l).length) await this.d.repo.setLabels(userId, [taskId], { tags: joinTags(left) });
    }
  }

  /** Adds `tags` to the tasks (creating the tags that do not exist, as qBittorrent does). */
  async addTags(userId: number, hashes: string, tags: string[]): Promise<void> {
    await this.createTags(userId, tags);
    const labels = await this.d.repo.labels(userId);
    for (const task of await this.tasks.tasksOf(userId, hashes)) {
      await this.d.repo.setLabels(userId, [task.taskId], { tags: joinTags([...labelTags(labels.get(task.taskId)), ...tags]) });
    }
  }

  /** Takes `tags` off the tasks; none given: every tag. */
  async removeTags(userId: number, hashes: string, tags: string[]): Promise<void> {
    const labels = await this.d.repo.labels(userId);
    for (const task of await this.tasks.tasksOf(userId, hashes)) {
      const left = tags.length === 0 ? [] : labelTags(labels.get(task.taskId)).filter((t) => !tags.includes(t));
      await this.d.repo.setLabels(userId, [task.taskId], { tags: joinTags(left) });
    }
  }

  async setShareLimits(userId: number, hashes: string, ratioLimit: number, seedingTimeLimit: number): Promise<void> {
    const tasks = await this.tasks.tasksOf(userId, hashes);
    await this.d.repo.setLabels(
      userId,
      tasks.map((t) => t.taskId),
      { ratio_limit: ratioLimit, seeding_time_limit: seedingTimeLimit },
    );
  }
}
