/** The mapper file every shop release stands for (the manifest's `mapper.file`). */
export const SHOP_MAPPER_FILE = 'functions/shop/catalog-sync.ts';
