import bcrypt from 'bcrypt';

/** bcrypt cost factor; tests lower it through LATCHKEY_BCRYPT_ROUNDS. */
export const hashPassword = (password: string, rounds: number) => bcrypt.hash(password, rounds);
export const verifyPassword = (password: string, hash: string) => bcrypt.compare(password, hash);
